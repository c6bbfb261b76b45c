import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useNavigate, useSearchParams } from "react-router-dom";

import { client, reportError, unwrap } from "@/api/client";
import { queryKeys, useMe } from "@/api/hooks";
import { useModal } from "@/components/modals/ModalContext";
import { Failed, Loading } from "@/components/States";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { notify } from "@/lib/toast";
import { useTitle } from "@/lib/title";

/** Where an invitation mail leads: sign in (or register) with the invited address, then join. */
export function Invite() {
  useTitle("Invitation");
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const { data: me, isPending } = useMe();
  const { open } = useModal();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const accept = useMutation({
    mutationFn: () => unwrap(client.POST("/api/invitations/accept", { body: { token } })),
    onSuccess: async (org) => {
      await queryClient.invalidateQueries({ queryKey: queryKeys.me });
      notify.good(`You joined ${org.name}.`);
      navigate("/dashboard");
    },
    onError: reportError,
  });
  return (
    <Card className="mx-auto max-w-md">
      <CardHeader>
        <CardTitle>
          <h1>Join an organisation</h1>
        </CardTitle>
        <CardDescription>You were invited to work on GPT API with a team.</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        {!token ? (
          <Failed message="This link is missing its token." />
        ) : isPending ? (
          <Loading label="Loading your account" rows={1} />
        ) : me ? (
          <>
            <p className="text-sm">
              Signed in as <strong>{me.user.email}</strong>.
            </p>
            <Button onClick={() => accept.mutate()} disabled={accept.isPending}>
              Accept invitation
            </Button>
          </>
        ) : (
          <>
            <p className="text-sm">Sign in, or create an account, with the address the invitation was sent to.</p>
            <div className="flex gap-2">
              <Button onClick={() => open({ kind: "signin" })}>Sign In</Button>
              <Button variant="outline" onClick={() => open({ kind: "signup" })}>
                Register
              </Button>
            </div>
          </>
        )}
      </CardContent>
    </Card>
  );
}
