# Actorbase as a self-hosted server: the same `npm start` as on a laptop (the bundled Worker on
# workerd, actors on disk). Secrets come from the environment: JWT_SECRET (or JWT_JWKS) and SERVICE_KEY.
#   docker build -t actorbase .
#   docker run -p 8787:8787 -v actorbase-data:/data -e JWT_SECRET=... -e SERVICE_KEY=... actorbase
# See docs/operations.md, "Serving".
FROM node:20-bookworm-slim
WORKDIR /app
RUN mkdir /data && chown node:node /app /data
USER node
COPY --chown=node:node package.json package-lock.json ./
RUN npm ci --no-audit --no-fund && npm cache clean --force
COPY --chown=node:node wrangler.toml tsconfig.json actorbase.config.ts ./
COPY --chown=node:node workers ./workers
COPY --chown=node:node objects ./objects
COPY --chown=node:node shared ./shared
COPY --chown=node:node scripts ./scripts
# The web console and the client it is built from (built into dist/assets at start).
COPY --chown=node:node console ./console
COPY --chown=node:node client ./client
ENV HOST=0.0.0.0 PORT=8787 ACTORBASE_DATA=/data WRANGLER_SEND_METRICS=false
VOLUME /data
EXPOSE 8787
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/api/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "scripts/start.mjs"]
