import { useState } from "preact/hooks";
import { post } from "../api.ts";
import { navigate, queryParam } from "../router.tsx";
import { announce, user, type User } from "../state.ts";
import { Field, FormError, Page, useAction } from "../ui.tsx";

export function AuthPage({ mode }: { mode: "login" | "signup" }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [email, setEmail] = useState("");
  const next = queryParam("next");
  // Only a path on this site: "//host" and "/\\host" would leave it.
  const safeNext = next && /^\/(?![\/\\])/.test(next) && !next.includes("\\") ? next : "/";
  const act = useAction(async () => {
    const body: Record<string, string> = { username, password };
    if (mode === "signup" && email) body.email = email;
    const r = await post<{ user: User }>(`/api/v1/auth/${mode}`, body);
    user.value = r.user;
    announce(mode === "signup" ? `Welcome, ${r.user.username}! Your account is ready.` : `Welcome back, ${r.user.username}.`, "success");
    navigate(safeNext, { replace: true });
  });
  if (user.value) {
    queueMicrotask(() => navigate(safeNext, { replace: true }));
  }
  const other = mode === "login" ? "/signup" : "/login";
  return (
    <Page title={mode === "login" ? "Log in" : "Create an account"}>
      <form
        class="card narrow"
        onSubmit={(e) => {
          e.preventDefault();
          void act.run();
        }}
      >
        <Field id="username" label="Username" hint={mode === "signup" ? "3–32 letters, digits, . _ or -" : undefined}>
          <input id="username" name="username" autocomplete="username" required minLength={mode === "signup" ? 3 : 1} maxLength={32} value={username} onInput={(e) => setUsername(e.currentTarget.value)} aria-describedby={mode === "signup" ? "username-hint" : undefined} />
        </Field>
        {mode === "signup" && (
          <Field id="email" label="Email (optional)">
            <input id="email" name="email" type="email" autocomplete="email" value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
          </Field>
        )}
        <Field id="password" label="Password" hint={mode === "signup" ? "At least 8 characters; a few words make a good one." : undefined}>
          <input id="password" name="password" type="password" autocomplete={mode === "login" ? "current-password" : "new-password"} required minLength={mode === "signup" ? 8 : 1} value={password} onInput={(e) => setPassword(e.currentTarget.value)} aria-describedby={mode === "signup" ? "password-hint" : undefined} />
        </Field>
        <FormError error={act.error} />
        <button type="submit" disabled={act.busy}>
          {act.busy ? "Please wait…" : mode === "login" ? "Log in" : "Sign up"}
        </button>
        <p class="muted">
          {mode === "login" ? "New here? " : "Have an account? "}
          <a href={other + (next ? "?next=" + encodeURIComponent(next) : "")}>{mode === "login" ? "Create an account" : "Log in"}</a>
        </p>
      </form>
    </Page>
  );
}
