-- needs: holds
-- For a failure, also the attempt (the last ARGV): a holder whose lease was
-- taken over by another attempt may not undo what the new holder does.
if tonumber(d[3]) ~= tonumber(ARGV[#ARGV]) then return 0 end
