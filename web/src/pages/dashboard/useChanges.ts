import { useQueryClient, type QueryKey } from "@tanstack/react-query";

import { reportError } from "@/api/client";
import { useModal } from "@/components/modals/ModalContext";
import { notify } from "@/lib/toast";

interface Destructive {
  title: string;
  description: string;
  confirmLabel: string;
  call: () => Promise<unknown>;
  done: string;
  after?: () => void;
}

/** Changes a member makes through the server: each one then refreshes the queries that show
it (`keys`) and says it is done; a failure is reported where the member sees it. A
destructive change asks first, in the Confirm Action dialog. */
export function useChanges(keys: QueryKey[]) {
  const queryClient = useQueryClient();
  const { open } = useModal();
  const refresh = () => Promise.all(keys.map((queryKey) => queryClient.invalidateQueries({ queryKey })));
  const run = async (call: () => Promise<unknown>, done: string) => {
    try {
      await call();
      await refresh();
      notify.good(done);
    } catch (error) {
      reportError(error);
    }
  };
  const confirm = ({ title, description, confirmLabel, call, done, after }: Destructive) =>
    open({
      kind: "confirm",
      options: {
        title,
        description,
        confirmLabel,
        destructive: true,
        onConfirm: async () => {
          await call();
          await refresh();
          notify.good(done);
          after?.();
        },
      },
    });
  return { run, confirm };
}
