-- Resource actions Argo CD offers on an XpanderDatabase. "sync-now" is greyed out while
-- spec.suspend is true: a suspended object ignores sync requests.
local actions = {}
actions["sync-now"] = {
  ["displayName"] = "Sync now",
  ["iconClass"] = "fa fa-fw fa-sync",
  ["disabled"] = obj.spec ~= nil and obj.spec.suspend == true,
}
return actions
