import { act, renderHook } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { useLogStream } from "./LiveLogs";

/** The browser's EventSource as the hook uses it (jsdom has none): the test plays the server. */
class FakeEventSource {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  static last: FakeEventSource;
  readyState = FakeEventSource.CONNECTING;
  onopen: (() => void) | null = null;
  onmessage: ((message: { data: string }) => void) | null = null;
  onerror: (() => void) | null = null;
  private listeners = new Map<string, (message: { data: string }) => void>();
  constructor(readonly url: string) {
    FakeEventSource.last = this;
  }
  addEventListener(name: string, listener: (message: { data: string }) => void) {
    this.listeners.set(name, listener);
  }
  close() {
    this.readyState = FakeEventSource.CLOSED;
  }
  open() {
    this.readyState = FakeEventSource.OPEN;
    this.onopen?.();
  }
  line(text: string) {
    this.onmessage?.({ data: JSON.stringify(text) });
  }
  end(state: string) {
    this.listeners.get("end")?.({ data: JSON.stringify({ state }) });
  }
  fail(readyState: number) {
    this.readyState = readyState;
    this.onerror?.();
  }
}

beforeEach(() => vi.stubGlobal("EventSource", FakeEventSource));
afterEach(() => vi.unstubAllGlobals());

describe("useLogStream", () => {
  it("shows lines as they come and closes on end", () => {
    const { result } = renderHook(() => useLogStream("/logs/stream?tail=200"));
    const source = FakeEventSource.last;
    expect(source.url).toBe("/logs/stream?tail=200");
    expect(result.current.status).toBe("connecting");
    act(() => {
      source.open();
      source.line("first");
      source.line("second");
    });
    expect(result.current).toEqual({ lines: ["first", "second"], status: "live", endState: null });
    act(() => source.end("stopped"));
    expect(result.current.status).toBe("ended");
    expect(result.current.endState).toBe("stopped");
    expect(source.readyState).toBe(FakeEventSource.CLOSED);
  });

  it("starts over on a reconnect, which replays the tail", () => {
    const { result } = renderHook(() => useLogStream("/logs/stream"));
    const source = FakeEventSource.last;
    act(() => {
      source.open();
      source.line("tail");
      source.fail(FakeEventSource.CONNECTING);
    });
    expect(result.current.status).toBe("reconnecting");
    act(() => {
      source.open();
      source.line("tail");
    });
    expect(result.current.lines).toEqual(["tail"]);
  });

  it("says so when the server refuses the stream", () => {
    const { result } = renderHook(() => useLogStream("/logs/stream"));
    act(() => FakeEventSource.last.fail(FakeEventSource.CLOSED));
    expect(result.current.status).toBe("failed");
  });

  it("closes the stream when the panel goes", () => {
    const { unmount } = renderHook(() => useLogStream("/logs/stream"));
    unmount();
    expect(FakeEventSource.last.readyState).toBe(FakeEventSource.CLOSED);
  });
});
