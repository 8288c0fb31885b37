// A user's own Node program: fetch to THEGRID_BASE_URL (fetch follows 307 with method and body).
const base = process.env.THEGRID_BASE_URL;
const res = await fetch(`${base}/chat/completions`, {
  method: "POST",
  headers: { "Authorization": `Bearer ${process.env.CLIENT_KEY}`, "Content-Type": "application/json" },
  body: JSON.stringify({ model: "text-prime", messages: [{ role: "user", content: "ping" }] }),
  signal: AbortSignal.timeout(2000),
}).catch((e) => ({ status: "error " + e.name, text: async () => "" }));
console.log("status", res.status);
