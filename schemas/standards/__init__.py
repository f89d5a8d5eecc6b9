"""National standards the declared fields name: GB 11643 identity numbers, GB 32100 credit codes, vectorised."""
