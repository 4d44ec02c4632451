import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { processAlive } from "../src/processAlive.ts";
import { testRunId, writeOnce } from "../src/testing/index.ts";

/**
 * The test run's make-once file (its PGlite templates, made by one process while another waits) and the
 * process check behind it and behind the embedded folder's lock.
 */
const dir = mkdtempSync(join(tmpdir(), `spendlens-writeonce-${testRunId()}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bytes = (s: string) => new TextEncoder().encode(s);
/** The pid of a process that has exited (and been reaped). */
const deadPid = () => spawnSync(process.execPath, ["-e", ""]).pid!;

describe("processAlive", () => {
  it("is true for this process and false for one that exited", () => {
    expect(processAlive(process.pid)).toBe(true);
    const pid = deadPid();
    expect(pid).toBeGreaterThan(0);
    expect(processAlive(pid)).toBe(false);
  });
});

describe("writeOnce", () => {
  it("makes the file once; a caller that finds the lock waits for it instead of making its own", async () => {
    const file = join(dir, "a.bin");
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const makes: string[] = [];
    const first = writeOnce(file, async () => {
      makes.push("first");
      await gate;
      return bytes("first");
    });
    // The first holds the lock (its folder, with this pid) and has not written yet.
    expect(existsSync(`${file}.lock`)).toBe(true);
    const second = writeOnce(file, async () => {
      makes.push("second");
      return bytes("second");
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(existsSync(file)).toBe(false); // the second waits, it did not write
    release();
    await Promise.all([first, second]);
    expect(makes).toEqual(["first"]);
    expect(readFileSync(file, "utf8")).toBe("first");
    expect(existsSync(`${file}.lock`)).toBe(false);
    // Once it exists, nothing is made again.
    await writeOnce(file, async () => {
      makes.push("third");
      return bytes("third");
    });
    expect(makes).toEqual(["first"]);
  });

  it("a lock whose holder died does not hold a caller back: it makes the file itself", async () => {
    const file = join(dir, "b.bin");
    mkdirSync(`${file}.lock`);
    writeFileSync(join(`${file}.lock`, "pid"), String(deadPid()));
    const t0 = Date.now();
    await writeOnce(file, async () => bytes("mine"));
    expect(readFileSync(file, "utf8")).toBe("mine");
    expect(Date.now() - t0).toBeLessThan(30_000); // not the 180 s wait
  });

  it("a lock held past the wait is given up; a maker's failure releases its lock and writes nothing", async () => {
    const file = join(dir, "c.bin");
    mkdirSync(`${file}.lock`);
    writeFileSync(join(`${file}.lock`, "pid"), String(process.pid)); // alive, and never released
    await writeOnce(file, async () => bytes("after the wait"), 200);
    expect(readFileSync(file, "utf8")).toBe("after the wait");

    const failing = join(dir, "d.bin");
    await expect(
      writeOnce(failing, async () => {
        throw new Error("make failed");
      }),
    ).rejects.toThrow("make failed");
    expect(existsSync(failing)).toBe(false);
    expect(existsSync(`${failing}.lock`)).toBe(false);
  });
});
