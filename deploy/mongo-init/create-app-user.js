// Run by the mongo image once, when it initialises an empty data volume, as
// the root user: the application's own user, with rights on its database only.
const dbName = process.env.MONGO_DB;
db.getSiblingDB(dbName).createUser({
  user: process.env.MONGO_APP_USER,
  pwd: process.env.MONGO_APP_PASSWORD,
  roles: [{ role: "readWrite", db: dbName }],
});
