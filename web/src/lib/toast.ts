import { toast } from "sonner";

/** The four outcomes the console reports; every message goes through one of these. */
export const notify = {
  good: (message: string, description?: string) => toast.success(message, { description }),
  warn: (message: string, description?: string) => toast.warning(message, { description }),
  bad: (message: string, description?: string) => toast.error(message, { description }),
  plain: (message: string, description?: string) => toast(message, { description }),
};
