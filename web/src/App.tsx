import { lazy, Suspense, useEffect, type ReactNode } from "react";
import {
  createBrowserRouter,
  Navigate,
  RouterProvider,
  useLocation,
  useNavigate,
  useSearchParams,
} from "react-router-dom";

import { Layout } from "@/components/layout/Layout";
import { useModal, type Modal } from "@/components/modals/ModalContext";
import { Loading } from "@/components/States";
import { Docs } from "@/pages/Docs";
import { Invite } from "@/pages/Invite";
import { Landing } from "@/pages/Landing";
import { Status } from "@/pages/Status";
import { ConfirmEmail, NotFound, ResetPassword, VerifyEmail } from "@/pages/TokenPages";
import { notify } from "@/lib/toast";

// Signed-in pages carry the charts; visitors never download them.
const Dashboard = lazy(() => import("@/pages/Dashboard").then((m) => ({ default: m.Dashboard })));
const Admin = lazy(() => import("@/pages/Admin").then((m) => ({ default: m.Admin })));

function Deferred({ children }: { children: ReactNode }) {
  return <Suspense fallback={<Loading label="Loading page" />}>{children}</Suspense>;
}

/** Links from mail and OAuth redirects land here: show the home page with a modal open. */
function OpenModal({ modal }: { modal: Modal }) {
  const { open } = useModal();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const error = params.get("error");
  useEffect(() => {
    if (error) notify.bad("Sign-in did not complete.", error.replaceAll("_", " "));
    navigate("/", { replace: true });
    open(modal);
  }, [error, modal, navigate, open]);
  return <Landing />;
}

/** Stripe Checkout returns to /billing; the billing tab finishes the job. */
function BillingReturn() {
  const { search } = useLocation();
  return <Navigate to={`/dashboard/billing${search}`} replace />;
}

const SIGN_IN: Modal = { kind: "signin" };
const FORGOT: Modal = { kind: "forgot" };

const routes = [
  {
    element: <Layout />,
    children: [
      { path: "/", element: <Landing /> },
      {
        path: "/dashboard/:tab?",
        element: (
          <Deferred>
            <Dashboard />
          </Deferred>
        ),
      },
      { path: "/status", element: <Status /> },
      { path: "/docs", element: <Docs /> },
      {
        path: "/admin",
        element: (
          <Deferred>
            <Admin />
          </Deferred>
        ),
      },
      { path: "/signin", element: <OpenModal modal={SIGN_IN} /> },
      { path: "/forgot-password", element: <OpenModal modal={FORGOT} /> },
      { path: "/billing", element: <BillingReturn /> },
      { path: "/invite", element: <Invite /> },
      { path: "/verify-email", element: <VerifyEmail /> },
      { path: "/reset-password", element: <ResetPassword /> },
      { path: "/confirm-email", element: <ConfirmEmail /> },
      { path: "*", element: <NotFound /> },
    ],
  },
];

const router = createBrowserRouter(routes);

export function App() {
  return <RouterProvider router={router} />;
}
