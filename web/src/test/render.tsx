import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactNode } from "react";
import { MemoryRouter } from "react-router-dom";

import { queryKeys } from "@/api/hooks";
import type { components } from "@/api/schema";
import type { Me, Organization } from "@/api/types";
import { ModalHost } from "@/components/modals/ModalHost";

export const ME: Me = {
  analytics_id: "3f2a9c0e1b2d4f6a8c0e1b2d",
  user: {
    id: "00000000-0000-0000-0000-000000000001",
    email: "ada@example.com",
    name: "Ada",
    email_verified: true,
    totp_enabled: false,
    has_password: true,
    is_admin: false,
    created_at: "2025-01-01T00:00:00Z",
  },
  organizations: [
    {
      id: "00000000-0000-0000-0000-0000000000aa",
      name: "Ada's org",
      role: "owner",
      is_personal: true,
      is_active: true,
    },
  ],
};

export const ORG: Organization = {
  id: "00000000-0000-0000-0000-0000000000aa",
  name: "Ada's org",
  role: "owner",
  is_personal: true,
  default: true,
  default_rpm_limit: null,
  default_tpm_limit: null,
  created_at: "2025-01-01T00:00:00Z",
};

/** Render with the app's providers; `me` seeds who is signed in (null: nobody). */
export function renderApp(
  ui: ReactNode,
  {
    me = null,
    path = "/",
    config = {},
  }: { me?: Me | null; path?: string; config?: Partial<components["schemas"]["PublicConfig"]> } = {},
) {
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false, staleTime: Infinity } } });
  queryClient.setQueryData(queryKeys.me, me);
  // Signed in, the dashboard acts in the person's own organisation.
  if (me) queryClient.setQueryData(queryKeys.orgs, [ORG]);
  queryClient.setQueryData(queryKeys.config, {
    version: "test",
    environment: "test",
    base_url: "https://api.example.test",
    auth_provider: "local",
    oauth_providers: [],
    supabase_url: null,
    supabase_anon_key: null,
    ...config,
  });
  return render(
    <QueryClientProvider client={queryClient}>
      <MemoryRouter initialEntries={[path]}>
        <ModalHost>{ui}</ModalHost>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}
