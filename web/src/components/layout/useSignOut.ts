import { useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "react-router-dom";

import { client, reportError, unwrap } from "@/api/client";
import { queryKeys } from "@/api/hooks";
import { useSupabase } from "@/lib/supabase";
import { notify } from "@/lib/toast";

/** Forget the signed-in person in this tab and go home, saying why. */
export function useLeave() {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  return (message: string) => {
    queryClient.setQueryData(queryKeys.me, null);
    queryClient.removeQueries({ queryKey: ["orgs"] });
    navigate("/");
    notify.plain(message);
  };
}

export function useSignOut() {
  const supabase = useSupabase();
  const leave = useLeave();
  return async () => {
    try {
      await unwrap(client.POST("/api/auth/signout"));
      if (supabase) await (await supabase()).auth.signOut();
      leave("Signed out.");
    } catch (error) {
      reportError(error);
    }
  };
}
