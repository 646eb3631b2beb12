/** A user id as the service mints it: `usr_` and 128 random bits in unpadded base64url. */
export const USER_ID = /^usr_[A-Za-z0-9_-]{22}$/;
/** A session id: `ses_` and 128 random bits in unpadded base64url. */
export const SESSION_ID = /^ses_[A-Za-z0-9_-]{22}$/;
