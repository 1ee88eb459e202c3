// What /proc (Linux) says about a server's workerd: shared by the benchmarks and the e2e tests.
import { readFileSync, readdirSync } from "node:fs";

/**
 * Resident memory (MiB) and open files of a server's workerd: the process `pgid` itself (npm
 * start) or the workerd processes of its group (`wrangler dev`).
 */
export function workerdStats(pgid) {
  let kib = 0;
  let openFiles = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if ((Number(fields[2]) !== pgid && Number(entry) !== pgid) || readFileSync(`/proc/${entry}/comm`, "utf8").trim() !== "workerd")
        continue;
      kib += Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${entry}/status`, "utf8"))?.[1] ?? 0);
      openFiles += readdirSync(`/proc/${entry}/fd`).length;
    } catch {
      // the process ended while being read
    }
  }
  return { rssMiB: kib / 1024, openFiles };
}
