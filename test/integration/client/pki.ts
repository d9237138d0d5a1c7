/** A throwaway CA with a server certificate (localhost, 127.0.0.1) and a client certificate. */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export function makePki(dir: string): void {
  const openssl = (...args: string[]): void => {
    execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  };
  const key = (name: string): void => openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${name}.key`);
  key("ca");
  openssl("req", "-x509", "-new", "-key", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=neurograph-test-ca");
  writeFileSync(join(dir, "server.ext"), "subjectAltName=DNS:localhost,DNS:node.test,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  writeFileSync(join(dir, "client.ext"), "extendedKeyUsage=clientAuth\n");
  for (const name of ["server", "client"]) {
    key(name);
    openssl("req", "-new", "-key", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`);
    openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "1", "-extfile", `${name}.ext`);
  }
}
