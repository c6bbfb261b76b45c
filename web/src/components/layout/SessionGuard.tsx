import { useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { useLocation } from "react-router-dom";

import { onSessionEnded } from "@/api/client";
import { queryKeys } from "@/api/hooks";
import { useModal } from "@/components/modals/ModalContext";

/** A session that ended elsewhere (signed out in another tab, expired) shows as what it is:
the sign-in dialog, which brings the person back to this page. */
export function SessionGuard() {
  const queryClient = useQueryClient();
  const { open } = useModal();
  const { pathname, search } = useLocation();
  useEffect(
    () =>
      onSessionEnded(() => {
        if (!queryClient.getQueryData(queryKeys.me)) return;
        queryClient.setQueryData(queryKeys.me, null);
        queryClient.removeQueries({ queryKey: ["orgs"] });
        open({
          kind: "signin",
          returnTo: pathname + search,
          notice: "Your session has ended. Sign in again to carry on where you were.",
        });
      }),
    [queryClient, open, pathname, search],
  );
  return null;
}
