import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "@jest/globals";
import { MigrationPhase, VMMigrationSchema } from "@virtrigaud/proto/manager";
import { migrationProgress } from "./migration-progress";

const mib = 1024n * 1024n;

describe("a migration's progress, for people", () => {
  it("says the bytes copied, the rate and the time left while it moves", () => {
    const moving = create(VMMigrationSchema, {
      status: {
        phase: MigrationPhase.TRANSFERRING,
        progress: {
          totalBytes: 32n * mib,
          transferredBytes: 12n * mib,
          percentage: 37,
          transferRate: 4n * mib,
          eta: "5s",
        },
      },
    });
    expect(migrationProgress(moving)).toEqual({
      percent: 37,
      bytes: "12 MiB of 32 MiB",
      rate: "4 MiB/s",
      timeLeft: "5s",
      finished: false,
    });
  });

  it("drops the rate and time left once it is Ready or Failed", () => {
    for (const phase of [MigrationPhase.READY, MigrationPhase.FAILED]) {
      const over = create(VMMigrationSchema, {
        status: {
          phase,
          progress: {
            totalBytes: mib,
            transferredBytes: mib,
            percentage: 100,
            transferRate: mib,
            eta: "0s",
          },
        },
      });
      expect(migrationProgress(over)).toMatchObject({ rate: "", timeLeft: "", finished: true });
    }
  });

  it("says nothing of bytes before the sizes are known", () => {
    const pending = create(VMMigrationSchema, { status: { phase: MigrationPhase.PENDING } });
    expect(migrationProgress(pending)).toEqual({
      percent: 0,
      bytes: "",
      rate: "",
      timeLeft: "",
      finished: false,
    });
  });
});
