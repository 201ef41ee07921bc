-- The blocked hash's field for a user's contact on a messenger (lengths keep
-- any user and contact name apart): as BlockedIds.field builds it.
local function blocked_field(messenger, user, contact)
  return messenger .. ':' .. #user .. ':' .. user .. ':' .. contact
end
