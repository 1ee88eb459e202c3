// The Worker serves the console from a module the console build generates
// (workers/routes/console-files.generated.ts): build it once before the pool starts, as `wrangler
// dev`, deploy and npm start do (wrangler.toml's [build]).
// @ts-expect-error plain ESM script without type declarations
import { buildConsole } from "../scripts/build-console.mjs";

export default async function setup(): Promise<void> {
  await buildConsole();
}
