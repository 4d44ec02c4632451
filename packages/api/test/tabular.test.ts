import { describe, expect, it } from "vitest";
import { flattenRow, toCsv } from "../src/tabular.ts";

describe("flattenRow (CSV of nested answers, REST and CLI)", () => {
  it("expands arrays of objects level by level, carrying the parent's fields", () => {
    const day = {
      group_by_day: "2026-01-10",
      teams: [
        {
          team_name: "A",
          total_spend: 3,
          metadata: [
            { model: "m1", api_key: "k1", spend: 1, total_tokens: 4 },
            { model: "m2", api_key: "k1", spend: 2, total_tokens: 5 },
          ],
        },
        {
          team_name: "B",
          total_spend: 7,
          metadata: [{ model: "m1", api_key: "k2", spend: 7, total_tokens: 6 }],
        },
      ],
    };
    expect(flattenRow(day)).toEqual([
      {
        group_by_day: "2026-01-10",
        team_name: "A",
        total_spend: 3,
        model: "m1",
        api_key: "k1",
        spend: 1,
        total_tokens: 4,
      },
      {
        group_by_day: "2026-01-10",
        team_name: "A",
        total_spend: 3,
        model: "m2",
        api_key: "k1",
        spend: 2,
        total_tokens: 5,
      },
      {
        group_by_day: "2026-01-10",
        team_name: "B",
        total_spend: 7,
        model: "m1",
        api_key: "k2",
        spend: 7,
        total_tokens: 6,
      },
    ]);
  });

  it("names a child field the parent has as array.field; nested objects as parent.child; scalar lists stay JSON", () => {
    expect(
      flattenRow({
        api_key: "k",
        total_cost: 3,
        model_details: [{ model: "m", total_cost: 3 }],
        tags: ["a", "b"],
      }),
    ).toEqual([{ api_key: "k", total_cost: 3, tags: ["a", "b"], model: "m", "model_details.total_cost": 3 }]);
    expect(flattenRow({ cost: 1, breakdown: { input: 0.5, output: 0.5, deep: { x: 1 } } })).toEqual([
      { cost: 1, "breakdown.input": 0.5, "breakdown.output": 0.5, "breakdown.deep.x": 1 },
    ]);
  });

  it("toCsv: flattened rows, no JSON for nested objects, a page's next_cursor on every row", () => {
    expect(toCsv({ cost: 1, breakdown: { input: 0.5 } })).toBe("cost,breakdown.input\n1,0.5\n");
    expect(toCsv({ data: [{ id: "a" }, { id: "b" }], next_cursor: "c2", has_more: true, limit: 2 })).toBe(
      "id,next_cursor\na,c2\nb,c2\n",
    );
  });
});
