// The website's one setting file. Deploying writes the API's URL here; nothing else needs to change.
//   apiBase:     the API's origin (and path prefix), without a trailing slash; "" means the origin
//                that served these pages (`shop serve`).
//   stripeJsUrl: where Stripe.js is loaded from when the API's payment provider is Stripe. It must be
//                the origin named in the server's Content-Security-Policy (SHOP_STRIPE_JS_URL).
export const config = {
  apiBase: "",
  stripeJsUrl: "https://js.stripe.com/v3/",
};
