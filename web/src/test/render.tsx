import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactNode } from "react";
import { MemoryRouter } from "react-router-dom";

import { queryKeys } from "@/api/hooks";
import type { Me } from "@/api/types";
import { ModalHost } from "@/components/modals/ModalHost";

export const ME: Me = {
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

/** Render with the app's providers; `me` seeds who is signed in (null: nobody). */
export function renderApp(ui: ReactNode, { me = null, path = "/" }: { me?: Me | null; path?: string } = {}) {
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false, staleTime: Infinity } } });
  queryClient.setQueryData(queryKeys.me, me);
  queryClient.setQueryData(queryKeys.config, {
    version: "test",
    environment: "test",
    base_url: "https://api.example.test",
    auth_provider: "local",
    oauth_providers: [],
  });
  return render(
    <QueryClientProvider client={queryClient}>
      <MemoryRouter initialEntries={[path]}>
        <ModalHost>{ui}</ModalHost>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}
