import { expect, it } from "@jest/globals";
import { findCommand } from "./index.js";

it.each(["apply", "get", "describe", "delete", "wait", "events", "snapshot", "provider"])(
  "finds the command %s",
  (name) => {
    expect(findCommand(name)).toBeInstanceOf(Function);
  },
);

it.each(["", "remove", "constructor", "toString", "__proto__"])(
  "finds no command %j, not even an object's own methods",
  (name) => {
    expect(findCommand(name)).toBeUndefined();
  },
);
