// The workerd suite binds the console's static assets (wrangler.toml `[assets]`), whose folder the
// console build makes: build it once before the pool starts, as `wrangler dev` and deploy do.
// @ts-expect-error plain ESM script without type declarations
import { buildConsole } from "../scripts/build-console.mjs";

export default async function setup(): Promise<void> {
  await buildConsole();
}
