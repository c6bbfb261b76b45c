import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef } from "react";
import { useSearchParams } from "react-router-dom";

import { reportError } from "@/api/client";

import { useOrgId } from "../useOrg";
import { billingKey } from "./keys";

/** Back from a payment page (Stripe Checkout, Coinbase Commerce) with `?<param>=<outcome>`:
clear the query, settle it once, then refresh the billing tab. */
export function useReturnFrom(
  param: string,
  settle: (outcome: string, sessionId: string | null, orgId: string) => Promise<unknown> | void,
) {
  const [params, setParams] = useSearchParams();
  const queryClient = useQueryClient();
  const orgId = useOrgId();
  const handled = useRef(false);
  const outcome = params.get(param);
  const sessionId = params.get("session_id");
  useEffect(() => {
    if (!outcome || handled.current) return;
    handled.current = true;
    setParams({}, { replace: true });
    void Promise.resolve(settle(outcome, sessionId, orgId))
      .catch(reportError)
      .finally(() => queryClient.invalidateQueries({ queryKey: billingKey(orgId) }));
  }, [outcome, sessionId, orgId, setParams, queryClient, settle]);
}
