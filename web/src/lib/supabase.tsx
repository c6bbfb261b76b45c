import type { SupabaseClient } from "@supabase/supabase-js";
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo } from "react";

import { ApiError, setTokenSource } from "@/api/client";
import { queryKeys, useConfig } from "@/api/hooks";

let loading: Promise<SupabaseClient> | null = null;

/** The one Supabase client, loaded on first use so local mode never downloads it. */
export function supabaseClient(url: string, anonKey: string): Promise<SupabaseClient> {
  loading ??= import("@supabase/supabase-js").then(({ createClient }) => createClient(url, anonKey));
  return loading;
}

/** The Supabase client when the server runs in Supabase mode, else null. */
export function useSupabase(): (() => Promise<SupabaseClient>) | null {
  const { data } = useConfig();
  const supabaseMode = data?.auth_provider === "supabase";
  const url = supabaseMode ? data.supabase_url : null;
  const key = supabaseMode ? data.supabase_anon_key : null;
  return useMemo(() => (url && key ? () => supabaseClient(url, key) : null), [url, key]);
}

/** Supabase's answers as the console's errors, so they are reported the same way. */
export function check(result: { error: { message: string; status?: number; code?: string } | null }): void {
  if (result.error) {
    throw new ApiError(result.error.status ?? 400, result.error.code ?? "auth_error", result.error.message);
  }
}

/** In Supabase mode: every API call carries the current access token, and a sign-in or
sign-out elsewhere (another tab, a token refresh) refreshes who is signed in. */
export function SupabaseSession() {
  const supabase = useSupabase();
  const queryClient = useQueryClient();
  useEffect(() => {
    if (!supabase) return;
    let cancelled = false;
    let unsubscribe = () => {};
    void supabase().then((sb) => {
      if (cancelled) return;
      setTokenSource(async () => (await sb.auth.getSession()).data.session?.access_token ?? null);
      const { data } = sb.auth.onAuthStateChange(() => {
        void queryClient.invalidateQueries({ queryKey: queryKeys.me });
      });
      unsubscribe = () => data.subscription.unsubscribe();
    });
    return () => {
      cancelled = true;
      unsubscribe();
      setTokenSource(null);
    };
  }, [supabase, queryClient]);
  return null;
}
