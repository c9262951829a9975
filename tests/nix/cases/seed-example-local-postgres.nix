# The seed's example on a machine that runs PostgreSQL itself (services.odoo
# enables services.postgresql): the units require postgresql.service and log
# in by peer authentication.
{
  imports = [ ./seed-example.nix ];
  services.postgresql.enable = true;
}
