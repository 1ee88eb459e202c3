import { afterEach, describe, expect, it, vi } from "vitest";
import type { Change } from "../shared/change";
import { RealtimeDO } from "../objects/realtime/realtime-do";
import { SERVICE, call, jsonInit } from "./helpers/http";

afterEach(() => vi.restoreAllMocks());

/** The name a RealtimeDO instance was reached by (`ctx` is protected on DurableObject). */
const nameOf = (actor: RealtimeDO) => (actor as unknown as { ctx: DurableObjectState }).ctx.id.name;

describe("DatabaseDO realtime hand-off", () => {
  it("hands each committed group of changes to the block's RealtimeDO, in seq order, once", async () => {
    const received: { block: string; seqs: number[] }[] = [];
    vi.spyOn(RealtimeDO.prototype, "publish").mockImplementation(async function (this: RealtimeDO, changes: Change[]) {
      received.push({ block: nameOf(this) ?? "", seqs: changes.map((c) => c.seq) });
    });
    const block = "user:publish1";
    await call(`/api/db/${block}/tables/notes`, jsonInit("POST", [{ title: "a" }, { title: "b" }], SERVICE));
    await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { title: "c" }, SERVICE));
    await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { priority: 1 }, SERVICE)); // 422: nothing committed
    await vi.waitFor(() => expect(received.flatMap((r) => r.seqs)).toEqual([1, 2, 3]));
    expect(received[0]).toEqual({ block, seqs: [1, 2] });
    expect(received.every((r) => r.block === block)).toBe(true);
  });

  it("keeps writes working when the hand-off fails", async () => {
    vi.spyOn(RealtimeDO.prototype, "publish").mockRejectedValue(new Error("realtime down"));
    vi.spyOn(console, "error").mockImplementation(() => {});
    const response = await call("/api/db/user:publish2/tables/notes", jsonInit("POST", { title: "a" }, SERVICE));
    expect(response.status).toBe(201);
    const list = await call("/api/db/user:publish2/tables/notes", { headers: SERVICE });
    expect(((await list.json()) as { items: unknown[] }).items).toHaveLength(1);
  });
});
