import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import type { AppEnv } from "../lib/context.ts";
import { route } from "../lib/route.ts";
import type { Services } from "../services.ts";
import { publicUser, SESSION_COOKIE } from "./auth.service.ts";

const Credentials = z.strictObject({
  // Generous raw caps here; the service applies the real rules with clear messages.
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(1024),
});
const SignupBody = Credentials.extend({ email: z.email().max(254).nullish() });

const UserOut = z.object({ id: z.number(), username: z.string(), role: z.enum(["player", "organiser"]), email: z.string().nullable(), createdAt: z.number() });

/** Over TLS directly, or behind a trusted proxy that says so. */
function isSecure(c: Context<AppEnv>, trusted: boolean) {
  if (new URL(c.req.url).protocol === "https:") return true;
  return trusted && c.req.header("x-forwarded-proto") === "https";
}

export function authRoutes(s: Services) {
  const { auth, config } = s;
  // Max-Age, not Expires: the server's (possibly fake) clock decides expiry;
  // the browser only needs to keep the cookie about as long.
  const setSession = (c: Context<AppEnv>, token: string) => {
    const viaProxy = config.trustProxy.length > 0 && c.req.header("x-forwarded-for") !== undefined;
    setCookie(c, SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: "Lax",
      secure: isSecure(c, viaProxy),
      path: "/",
      maxAge: config.sessionTtlDays * 86_400,
    });
  };
  const meta = (c: Context<AppEnv>) => ({ ip: c.get("ip"), userAgent: c.req.header("user-agent") });

  return [
    route({
      method: "post",
      path: "/api/v1/auth/signup",
      auth: "none",
      summary: "Create a player account and log in",
      body: SignupBody,
      status: 201,
      response: z.object({ user: UserOut }),
      async handler(c, { body }) {
        const { user, session } = await auth.signup(body, meta(c));
        setSession(c, session.token);
        return { user: publicUser(user) };
      },
    }),
    route({
      method: "post",
      path: "/api/v1/auth/login",
      auth: "none",
      summary: "Log in; sets a new session cookie (the old session, if any, is ended)",
      body: Credentials,
      response: z.object({ user: UserOut }),
      async handler(c, { body }) {
        const current = c.get("user")?.sessionId;
        const { user, session } = await auth.login(body, { ...meta(c), currentSessionId: current });
        setSession(c, session.token);
        return { user: publicUser(user) };
      },
    }),
    route({
      method: "post",
      path: "/api/v1/auth/logout",
      auth: "optional",
      summary: "End the current session",
      status: 204,
      async handler(c, { user }) {
        if (user) await auth.logout(user.sessionId);
        if (getCookie(c, SESSION_COOKIE) !== undefined) deleteCookie(c, SESSION_COOKIE, { path: "/" });
        return null;
      },
    }),
    route({
      method: "get",
      path: "/api/v1/me",
      auth: "user",
      summary: "The logged-in user",
      response: z.object({ user: UserOut }),
      handler: (_c, { user }) => ({ user: auth.me(user.id) }),
    }),
  ];
}
