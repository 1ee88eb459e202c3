#!/usr/bin/env node
// npm run token -- --sub alice [--claims '{"workspaces":["ws1"]}'] [--ttl 3600]
// Prints an HS256 JWT signed with the local JWT_SECRET (.dev.vars, else .dev.vars.example).
import { parseArgs } from "node:util";
import { SignJWT } from "jose";
import { devVars } from "./dev-vars.mjs";

const usage = "usage: npm run token -- --sub <id> [--claims '<json object>'] [--ttl <seconds>]";
let values;
try {
  ({ values } = parseArgs({
    options: { sub: { type: "string" }, claims: { type: "string" }, ttl: { type: "string" }, help: { type: "boolean" } },
  }));
} catch (err) {
  console.error(`${err.message}\n${usage}`);
  process.exit(2);
}
if (values.help || !values.sub) {
  console.error(usage);
  process.exit(values.help ? 0 : 2);
}
let claims = {};
if (values.claims) {
  try {
    claims = JSON.parse(values.claims);
  } catch (err) {
    console.error(`--claims is not valid JSON: ${err.message}`);
    process.exit(2);
  }
  if (typeof claims !== "object" || claims === null || Array.isArray(claims)) {
    console.error("--claims must be a JSON object");
    process.exit(2);
  }
}
const ttl = values.ttl === undefined ? 3600 : Number(values.ttl);
if (!Number.isInteger(ttl) || ttl <= 0) {
  console.error("--ttl must be a positive number of seconds");
  process.exit(2);
}
const secret = process.env.JWT_SECRET || devVars().vars.JWT_SECRET;
if (!secret) {
  console.error("No JWT_SECRET: set it in .dev.vars (see .dev.vars.example) or the environment.");
  process.exit(1);
}
const now = Math.floor(Date.now() / 1000);
const vars = devVars().vars;
let jwt = new SignJWT(claims)
  .setProtectedHeader({ alg: "HS256", typ: "JWT" })
  .setSubject(values.sub)
  .setIssuedAt(now)
  .setExpirationTime(now + ttl);
if (process.env.JWT_ISSUER || vars.JWT_ISSUER) jwt = jwt.setIssuer(process.env.JWT_ISSUER || vars.JWT_ISSUER);
if (process.env.JWT_AUDIENCE || vars.JWT_AUDIENCE) jwt = jwt.setAudience(process.env.JWT_AUDIENCE || vars.JWT_AUDIENCE);
console.log(await jwt.sign(new TextEncoder().encode(secret)));
