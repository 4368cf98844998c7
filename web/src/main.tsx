import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "./api.ts";
import "./style.css";

interface User { id: number; username: string; role: string }

function AuthForm({ onDone }: { onDone: (u: User) => void }) {
  const [mode, setMode] = useState<"login" | "signup">("login");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      const r = await api<{ user: User }>("POST", `/api/v1/auth/${mode}`, { username, password });
      onDone(r.user);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "Something went wrong.");
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card" onSubmit={submit} aria-labelledby="auth-title">
      <h2 id="auth-title">{mode === "login" ? "Log in" : "Create an account"}</h2>
      <label for="username">Username</label>
      <input id="username" name="username" autocomplete="username" required value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete={mode === "login" ? "current-password" : "new-password"} required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
      {error && <p class="error" role="alert">{error}</p>}
      <button type="submit" disabled={busy}>{mode === "login" ? "Log in" : "Sign up"}</button>
      <p class="muted">
        {mode === "login" ? "New here? " : "Have an account? "}
        <button type="button" class="link" onClick={() => setMode(mode === "login" ? "signup" : "login")}>{mode === "login" ? "Create an account" : "Log in"}</button>
      </p>
    </form>
  );
}

function App() {
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const [error, setError] = useState("");
  useEffect(() => {
    api<{ user: User }>("GET", "/api/v1/me").then((r) => setUser(r.user), (e) => (e instanceof ApiError && e.status === 401 ? setUser(null) : setError(e.message)));
  }, []);
  const logout = async () => {
    await api("POST", "/api/v1/auth/logout").catch(() => {});
    setUser(null);
  };
  return (
    <main>
      <header>
        <h1>Gauntlet</h1>
        {user && <button onClick={logout}>Log out</button>}
      </header>
      {error && <p class="error" role="alert">{error}</p>}
      {user === undefined && !error && <p class="muted" aria-busy="true">Loading…</p>}
      {user === null && <AuthForm onDone={setUser} />}
      {user && (
        <section class="card">
          <h2>Welcome, {user.username}</h2>
          <p class="muted">You are signed in as a {user.role}.</p>
        </section>
      )}
    </main>
  );
}

render(<App />, document.getElementById("app")!);
