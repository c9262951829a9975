# PostgreSQL on another machine: no dependency on postgresql.service, a
# connection string and a password file instead.
{
  odbox.backup.odoo = {
    enable = true;
    hotSchedule = [ "*-*-* 08..18:00:00" ];
    postgres = {
      conninfo = "host=db.internal port=5432 user=odoo_backup sslmode=verify-full";
      passwordFile = "/run/keys/odbox-backup.pgpass";
    };
  };
}
