-- split(text, sep): the non-empty fields of text between the one-character separators sep.
local function split(text, sep)
  local fields = {}
  for part in string.gmatch(text, "[^" .. sep .. "]+") do fields[#fields + 1] = part end
  return fields
end
