import { expect, it } from "@jest/globals";
import { ConsoleKind } from "@virtrigaud/proto/manager";
import { createConsoleTickets } from "./console-tickets.js";

const web = { namespace: "team-a", name: "web-1", kind: ConsoleKind.SERIAL, user: "eddie" };

it("takes a ticket once, for its VM", () => {
  const tickets = createConsoleTickets();
  const { ticket } = tickets.issue(web);
  expect(ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(tickets.redeem(ticket, "team-a", "web-1")).toEqual(web);
  expect(tickets.redeem(ticket, "team-a", "web-1")).toEqual({ refused: "unknown or used" });
});

it("refuses a ticket for another VM, and it is gone after", () => {
  const tickets = createConsoleTickets();
  const { ticket } = tickets.issue(web);
  expect(tickets.redeem(ticket, "team-a", "db-1")).toEqual({ refused: "for another VM" });
  expect(tickets.redeem(ticket, "team-a", "web-1")).toEqual({ refused: "unknown or used" });
});

it("refuses a ticket past its lifetime", () => {
  let now = 1_000;
  const tickets = createConsoleTickets({ ttlMs: 500, now: () => now });
  const { ticket, expiresAt } = tickets.issue(web);
  expect(expiresAt).toBe(1_500);
  now = 1_500;
  expect(tickets.redeem(ticket, "team-a", "web-1")).toEqual({ refused: "expired" });
});

it("refuses a ticket it never issued", () => {
  expect(createConsoleTickets().redeem("made-up", "team-a", "web-1")).toEqual({
    refused: "unknown or used",
  });
});
