import { describe, expect, it } from "vitest";

import { ApiError } from "@/api/client";

import { EXAMPLE_IMAGE, fieldErrorOf, parseEnv, parsePorts, toCreate, toEstimateSpec, type PodForm } from "./spec";

const FORM: PodForm = {
  name: "",
  gpuType: "NVIDIA GeForce RTX 4090",
  gpuCount: 2,
  image: "",
  cloud: "SECURE",
  storageGb: 50,
  ports: "8888/http,22/tcp  8080/http",
  env: "",
};

describe("the pod form", () => {
  it("reads ports separated by commas or spaces", () => {
    expect(parsePorts(" 8888/http, 22/tcp\n8080/http ")).toEqual(["8888/http", "22/tcp", "8080/http"]);
    expect(parsePorts("")).toEqual([]);
  });

  it("reads NAME=value lines, keeping '=' inside values", () => {
    expect(parseEnv("A=1\n\nTOKEN=a=b\n")).toEqual({ env: { A: "1", TOKEN: "a=b" } });
    expect(parseEnv("A=1\nnot a pair")).toEqual({ error: "Line 2 is not NAME=value." });
    expect(parseEnv("=value")).toEqual({ error: "Line 1 is not NAME=value." });
  });

  it("prices the example image until one is typed, and sends no empty name", () => {
    expect(toEstimateSpec(FORM, {}).image).toBe(EXAMPLE_IMAGE);
    expect(toEstimateSpec({ ...FORM, image: " my/image:1 " }, {}).image).toBe("my/image:1");
    expect(toCreate(FORM, { A: "1" })).toEqual({
      image: "",
      gpu_type: "NVIDIA GeForce RTX 4090",
      gpu_count: 2,
      cloud_type: "SECURE",
      storage_gb: 50,
      ports: ["8888/http", "22/tcp", "8080/http"],
      env: { A: "1" },
      name: null,
    });
  });

  it("puts a refusal naming a field at that field, without repeating its name", () => {
    const ports = new ApiError(422, "validation_error", "ports.1: String should match pattern", "ports.1");
    expect(fieldErrorOf(ports)).toEqual({ ports: "String should match pattern" });
    const gpu = new ApiError(400, "invalid_value", "Unknown GPU type 'X'.", "gpu_type");
    expect(fieldErrorOf(gpu)).toEqual({ gpu_type: "Unknown GPU type 'X'." });
    expect(fieldErrorOf(new ApiError(409, "no_container_provider", "No provider."))).toBeNull();
    expect(fieldErrorOf(new ApiError(422, "validation_error", "x: bad", "x"))).toBeNull();
    expect(fieldErrorOf(new Error("network"))).toBeNull();
  });
});
