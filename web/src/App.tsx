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
import { Telemetry } from "@/components/Telemetry";
import { Landing } from "@/pages/Landing";
import { notify } from "@/lib/toast";

// Only the landing page is in the first download; every other route is fetched when opened
// (signed-in pages carry the charts, the docs their samples).
const Dashboard = lazy(() => import("@/pages/Dashboard").then((m) => ({ default: m.Dashboard })));
const Admin = lazy(() => import("@/pages/Admin").then((m) => ({ default: m.Admin })));
const Docs = lazy(() => import("@/pages/Docs").then((m) => ({ default: m.Docs })));
const Status = lazy(() => import("@/pages/Status").then((m) => ({ default: m.Status })));
const Models = lazy(() => import("@/pages/Models").then((m) => ({ default: m.Models })));
const Gpu = lazy(() => import("@/pages/Gpu").then((m) => ({ default: m.Gpu })));
const Playground = lazy(() => import("@/pages/Playground").then((m) => ({ default: m.Playground })));
const Invite = lazy(() => import("@/pages/Invite").then((m) => ({ default: m.Invite })));
const Unsubscribe = lazy(() => import("@/pages/Unsubscribe").then((m) => ({ default: m.Unsubscribe })));
const tokenPage = (name: "ConfirmEmail" | "NotFound" | "ResetPassword" | "VerifyEmail") =>
  lazy(() => import("@/pages/TokenPages").then((m) => ({ default: m[name] })));
const ConfirmEmail = tokenPage("ConfirmEmail");
const NotFound = tokenPage("NotFound");
const ResetPassword = tokenPage("ResetPassword");
const VerifyEmail = tokenPage("VerifyEmail");

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

function page(element: ReactNode) {
  return <Deferred>{element}</Deferred>;
}

const routes = [
  {
    element: (
      <>
        <Telemetry />
        <Layout />
      </>
    ),
    children: [
      { path: "/", element: <Landing /> },
      { path: "/dashboard/:tab?/:item?", element: page(<Dashboard />) },
      { path: "/status", element: page(<Status />) },
      { path: "/docs", element: page(<Docs />) },
      { path: "/models", element: page(<Models />) },
      { path: "/gpu", element: page(<Gpu />) },
      { path: "/playground", element: page(<Playground />) },
      { path: "/admin", element: page(<Admin />) },
      { path: "/signin", element: <OpenModal modal={SIGN_IN} /> },
      { path: "/forgot-password", element: <OpenModal modal={FORGOT} /> },
      { path: "/billing", element: <BillingReturn /> },
      { path: "/invite", element: page(<Invite />) },
      { path: "/verify-email", element: page(<VerifyEmail />) },
      { path: "/reset-password", element: page(<ResetPassword />) },
      { path: "/confirm-email", element: page(<ConfirmEmail />) },
      { path: "/unsubscribe", element: page(<Unsubscribe />) },
      { path: "*", element: page(<NotFound />) },
    ],
  },
];

const router = createBrowserRouter(routes);

export function App() {
  return <RouterProvider router={router} />;
}
