// linqd console: the little the pages need beyond htmx. No inline scripts anywhere (the CSP
// allows scripts from /ui/static only), so every behaviour hangs on data- attributes here.
"use strict";
