import { afterEach, describe, expect, it, vi } from "vitest";

import { notify } from "@/lib/toast";

import {
  ApiError,
  authHeaders,
  client,
  csrfHeaders,
  readCookie,
  reportError,
  setTokenSource,
  toApiError,
  unwrap,
} from "./client";

function clearCookies() {
  for (const part of document.cookie.split(";")) {
    const name = part.split("=")[0]?.trim();
    if (name) document.cookie = `${name}=; expires=Thu, 01 Jan 1970 00:00:00 GMT`;
  }
}

afterEach(() => {
  clearCookies();
  setTokenSource(null);
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

describe("cookies and CSRF", () => {
  it("reads one cookie among several", () => {
    expect(readCookie("b", "a=1; b=two%20words; c=3")).toBe("two words");
    expect(readCookie("missing", "a=1")).toBeNull();
  });

  it("echoes the CSRF cookie on unsafe methods only", () => {
    document.cookie = "gptapi_csrf=token123";
    expect(csrfHeaders("POST")).toEqual({ "X-CSRF-Token": "token123" });
    expect(csrfHeaders("delete")).toEqual({ "X-CSRF-Token": "token123" });
    expect(csrfHeaders("GET")).toEqual({});
  });

  it("sends the header and same-origin credentials through the typed client", async () => {
    document.cookie = "gptapi_csrf=abc";
    const seen: Request[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (request: Request) => {
        seen.push(request);
        return new Response(JSON.stringify({ message: "ok" }), {
          status: 202,
          headers: { "content-type": "application/json" },
        });
      }),
    );
    await unwrap(client.POST("/api/auth/forgot-password", { body: { email: "a@b.c" } }));
    expect(seen[0]?.headers.get("X-CSRF-Token")).toBe("abc");
    expect(seen[0]?.credentials).toBe("same-origin");
  });
});

describe("Supabase mode", () => {
  it("sends the access token instead of the CSRF header", () => {
    document.cookie = "gptapi_csrf=abc";
    expect(authHeaders("POST", "jwt.token")).toEqual({ Authorization: "Bearer jwt.token" });
    expect(authHeaders("GET", "jwt.token")).toEqual({ Authorization: "Bearer jwt.token" });
    expect(authHeaders("POST", null)).toEqual({ "X-CSRF-Token": "abc" });
  });

  it("asks the token source on every request of the typed client", async () => {
    document.cookie = "gptapi_csrf=abc";
    const tokens = ["first", "refreshed"];
    setTokenSource(async () => tokens.shift() ?? null);
    const seen: Request[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (request: Request) => {
        seen.push(request);
        return Response.json({ authenticated: false, me: null });
      }),
    );
    await unwrap(client.GET("/api/auth/session"));
    await unwrap(client.POST("/api/auth/signout"));
    expect(seen.map((r) => r.headers.get("Authorization"))).toEqual(["Bearer first", "Bearer refreshed"]);
    expect(seen[1]?.headers.get("X-CSRF-Token")).toBeNull();
  });

  it("falls back to the cookie when there is no session", async () => {
    document.cookie = "gptapi_csrf=abc";
    setTokenSource(async () => null);
    const seen: Request[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (request: Request) => {
        seen.push(request);
        return new Response(null, { status: 204 });
      }),
    );
    await client.POST("/api/auth/signout");
    expect(seen[0]?.headers.get("Authorization")).toBeNull();
    expect(seen[0]?.headers.get("X-CSRF-Token")).toBe("abc");
  });
});

describe("errors", () => {
  it("maps the /api error body", () => {
    const error = toApiError(409, { error: { code: "conflict", message: "Taken.", param: "email" } });
    expect(error).toMatchObject({ status: 409, code: "conflict", message: "Taken.", param: "email" });
  });

  it("gives a generic message when the body is not the /api shape", () => {
    expect(toApiError(502, "<html>").message).toBe("Request failed (502).");
  });

  it("throws an ApiError from a failed typed call", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async () =>
        Response.json(
          { error: { code: "invalid_credentials", message: "Wrong email or password.", param: null } },
          { status: 401 },
        ),
      ),
    );
    await expect(
      unwrap(client.POST("/api/auth/signin", { body: { email: "a", password: "b" } })),
    ).rejects.toMatchObject({ status: 401, code: "invalid_credentials" });
  });

  it("warns about client mistakes and reports server failures as bad", () => {
    const warn = vi.spyOn(notify, "warn").mockImplementation(() => "");
    const bad = vi.spyOn(notify, "bad").mockImplementation(() => "");
    reportError(new ApiError(422, "validation_error", "Name is required."));
    expect(warn).toHaveBeenCalledWith("Name is required.");
    reportError(new ApiError(500, "internal_error", "Something went wrong on our side."));
    reportError(new ApiError(403, "forbidden", "Your role cannot do that."));
    expect(bad).toHaveBeenCalledWith("Something went wrong on our side.");
    expect(bad).toHaveBeenCalledWith("Your role cannot do that.");
    reportError(new TypeError("Failed to fetch"));
    expect(bad).toHaveBeenLastCalledWith("Could not reach the server.", "Failed to fetch");
  });
});
