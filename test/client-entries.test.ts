import { describe, expect, it } from "vitest";
import { deliverEntries } from "../client/realtime";
import type { ChangeEntry } from "../shared/protocol";

const entry = (seq: number): ChangeEntry => ({ seq, table: "notes", op: "insert", row: { id: `r${seq}` } });

describe("client: a changes frame", () => {
  it("reaches every change when onChange throws on one, then surfaces that error", () => {
    const seen: number[] = [];
    const subscription = {
      handleChange(change: ChangeEntry) {
        seen.push(change.seq);
        if (change.seq === 1 || change.seq === 3) throw new Error(`app bug at ${change.seq}`);
      },
    };
    expect(() => deliverEntries(subscription, [entry(1), entry(2), entry(3), entry(4)])).toThrow("app bug at 1");
    expect(seen).toEqual([1, 2, 3, 4]);
  });

  it("delivers in order and throws nothing when every handler returns", () => {
    const seen: number[] = [];
    deliverEntries({ handleChange: (change) => void seen.push(change.seq) }, [entry(5), entry(6)]);
    expect(seen).toEqual([5, 6]);
  });
});
