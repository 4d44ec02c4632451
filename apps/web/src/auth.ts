import { createContext, useContext } from "react";
import type { Client, Whoami } from "./api.ts";

export interface Auth {
  client: Client;
  who: Whoami;
  signOut(): void;
}

export const AuthContext = createContext<Auth | null>(null);

export function useAuth(): Auth {
  const a = useContext(AuthContext);
  if (!a) throw new Error("useAuth outside the signed-in shell");
  return a;
}

/** proxy_admin and proxy_admin_viewer see every row and the admin-only reports. */
export const isAdmin = (who: Whoami) => who.role === "proxy_admin" || who.role === "proxy_admin_viewer";
