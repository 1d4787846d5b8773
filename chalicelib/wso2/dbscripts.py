"""WSO2's database scripts: which of the `dbscripts` a product ships create which database's
tables, and the user each product connects as.

The scripts are WSO2's own, shipped in the product under `<HOME>/dbscripts`:
- APIM 4.7 (wso2/product-apim, `all-in-one-apim/modules/distribution/product/src/main/assembly/
  bin.xml`): `apimgt/<type>.sql` for the API Manager database, `<type>.sql` for the shared
  (registry and user store) database; the database sections of WSO2's `deployment.toml` name
  the two (`[database.apim_db]`, `[database.shared_db]`).
- MI 4.4 (wso2/product-micro-integrator, `distribution/src/dbscripts`): the coordination
  database's `mysql/mysql_cluster.sql` and `postgres/postgresql_cluster.sql`.
"""

from __future__ import annotations

from typing import Literal

DatabaseType = Literal["mysql", "postgresql"]

# product -> database type -> (the service's URL variable, the script under <HOME>/dbscripts)
SCRIPTS: dict[str, dict[DatabaseType, tuple[tuple[str, str], ...]]] = {
    "wso2am": {
        "mysql": (("APIM_DB_URL", "apimgt/mysql.sql"), ("SHARED_DB_URL", "mysql.sql")),
        "postgresql": (
            ("APIM_DB_URL", "apimgt/postgresql.sql"),
            ("SHARED_DB_URL", "postgresql.sql"),
        ),
    },
    "wso2mi": {
        "mysql": (("MI_COORDINATION_DB_URL", "mysql/mysql_cluster.sql"),),
        "postgresql": (("MI_COORDINATION_DB_URL", "postgres/postgresql_cluster.sql"),),
    },
}
# product -> (the user variable, the password secret) the scripts run as: the ones the product
# itself connects with (docker/*/config-contract.yaml).
CREDENTIALS: dict[str, tuple[str, str]] = {
    "wso2am": ("APIM_DB_USER", "DB_PASSWORD"),
    "wso2mi": ("MI_COORDINATION_DB_USER", "MI_COORDINATION_DB_PASSWORD"),
}


def database_type(url: str) -> DatabaseType | None:
    """The database type of a JDBC URL, as WSO2 ships scripts for it; None for others."""
    if url.startswith("jdbc:mysql:"):
        return "mysql"
    if url.startswith("jdbc:postgresql:"):
        return "postgresql"
    return None
