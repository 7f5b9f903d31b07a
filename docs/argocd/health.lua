-- Argo CD health check for database.xpander.ai/XpanderDatabase.
--
-- The operator reports kstatus conditions, each stamped with the generation it describes:
-- Ready (the managed Secret holds the xpander API's latest answer), Reconciling (a sync or
-- a retry is under way) and Stalled (a person has to act). Argo CD runs health checks from
-- argocd-cm without Lua's string library, so this script sticks to the base functions.

local function find(conditions, kind)
  for _, c in ipairs(conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function isTrue(c)
  return c ~= nil and c.status == "True"
end

-- "Reason: message", so that the reason listed in the README shows next to the text.
local function summary(reason, message)
  if reason == nil or reason == "" then
    return message or ""
  end
  if message == nil or message == "" then
    return reason
  end
  return reason .. ": " .. message
end

local hs = {}
local generation = obj.metadata.generation

-- A suspended object is not synced and its status is not updated, so whatever status it
-- carries describes the last sync before the pause.
if obj.spec ~= nil and obj.spec.suspend == true then
  hs.status = "Suspended"
  hs.message = "Syncing is suspended (spec.suspend); the Secret keeps its last connection"
  return hs
end

local status = obj.status
if status == nil or status.conditions == nil or #status.conditions == 0 then
  hs.status = "Progressing"
  hs.message = "Waiting for the first sync"
  return hs
end

-- Conditions written for an older spec say nothing about the current one.
if generation ~= nil and status.observedGeneration ~= generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to sync generation " .. generation
  return hs
end

local ready = find(status.conditions, "Ready")
local reconciling = find(status.conditions, "Reconciling")
local stalled = find(status.conditions, "Stalled")

if ready ~= nil and ready.observedGeneration ~= nil and generation ~= nil
    and ready.observedGeneration ~= generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to sync generation " .. generation
  return hs
end

-- Stalled: retrying will not help until someone fixes the key, the Secret name or the spec.
if isTrue(stalled) then
  hs.status = "Degraded"
  if ready ~= nil and ready.status == "False" then
    hs.message = summary(ready.reason, ready.message)
  else
    hs.message = summary(stalled.reason, stalled.message)
  end
  return hs
end

-- Reconciling: a sync is under way, or a transient failure is retried with a backoff. The
-- Ready reason says what failed; the Reconciling message says when the next try is.
if isTrue(reconciling) then
  hs.status = "Progressing"
  if ready ~= nil and ready.status == "False" then
    hs.message = summary(ready.reason, reconciling.message)
  else
    hs.message = summary(reconciling.reason, reconciling.message)
  end
  return hs
end

if isTrue(ready) then
  hs.status = "Healthy"
  hs.message = ready.message
  return hs
end

if ready ~= nil and ready.status == "False" then
  hs.status = "Degraded"
  hs.message = summary(ready.reason, ready.message)
  return hs
end

hs.status = "Progressing"
hs.message = "Waiting for the Ready condition"
return hs
