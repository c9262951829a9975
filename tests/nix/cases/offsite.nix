# Off-site generations to S3: credentials in an environment file, pushes
# after cold runs only, a keep policy, and a forget and two check runs a week.
{
  services.postgresql.enable = true;
  odbox.backup = {
    odoo = {
      enable = true;
      hotSchedule = [ "11:00:00" ];
      coldSchedule = [ "02:00:00" ];
    };
    offsite = {
      enable = true;
      repository = "s3:s3.eu-central-1.amazonaws.com/acme-backups/odoo";
      passwordFile = "/run/keys/odbox-restic.pass";
      environmentFile = "/run/keys/odbox-restic.env";
      pushAfter = [ "cold" ];
      keep = {
        last = 5;
        daily = 14;
        monthly = 6;
      };
      forgetSchedule = [ "Sun 04:00" ];
      checkSchedule = [
        "Sun 05:00"
        "Wed 05:00"
      ];
      readDataSubset = "5%";
    };
  };
}
