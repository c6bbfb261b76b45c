import { useQuery } from "@tanstack/react-query";

import { client, unwrap } from "@/api/client";
import { queryKeys } from "@/api/hooks";

export function useStatus() {
  return useQuery({
    queryKey: queryKeys.status,
    queryFn: () => unwrap(client.GET("/api/status")),
    refetchInterval: 30_000,
  });
}
