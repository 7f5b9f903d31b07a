-- Asks the operator for one sync now, as
--   kubectl annotate xdb NAME database.xpander.ai/sync-requested-at="$(date +%s)" --overwrite
-- would: any value the annotation did not hold before is a new request. Argo CD's sandbox
-- offers os.date and os.time, and nothing finer than a second.
local key = "database.xpander.ai/sync-requested-at"
local requestedAt = os.date("!%Y-%m-%dT%H:%M:%SZ")

if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
-- A second request within the same second would otherwise write the same value and be lost.
if obj.metadata.annotations[key] == requestedAt then
  requestedAt = requestedAt .. "-1"
end
obj.metadata.annotations[key] = requestedAt
return obj
