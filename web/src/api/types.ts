import type { components } from "./schema";

type Schemas = components["schemas"];

export type Me = Schemas["Me"];
export type Organization = Schemas["gptapi__console__orgs__schemas__OrganizationOut"];
export type ApiKey = Schemas["KeyOut"];
export type ApiKeyCreated = Schemas["KeyCreated"];
export type KeyCreate = Schemas["KeyCreate"];
export type StatusPage = Schemas["StatusPage"];
// Through StatusPage: other domains have schemas of the same names.
export type ServiceOut = StatusPage["services"][number];
export type IncidentOut = StatusPage["incidents"][number];
export type ServiceStatus = StatusPage["status"];
// The operator's views; other domains have schemas of the same names.
export type OperatorServer = Schemas["gptapi__console__operator__schemas__ServerOut"];
export type OperatorUser = Schemas["gptapi__console__operator__schemas__UserOut"];
export type ModelInfo = Schemas["ModelInfo"];
