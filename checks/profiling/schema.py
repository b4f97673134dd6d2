"""Mapping a schema no preset knows: entities and fields found by what the tables and columns are.

Names are read in snake_case, camelCase, PascalCase and run together (`first_name`, `firstName`,
`FIRSTNAME`), with Salesforce's `__c` dropped and accents folded, against synonyms in English,
German, French and Spanish; where a name says nothing, the sampled content decides (a column of
email addresses is the email, one of country names the country). Each table is given the entity
its name or its columns point to (people with a status or company are leads, a name with a
website is an account, an amount with a stage is an opportunity); each entity takes one table.
Columns left over become custom fields, so that rules and fill rates reach them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa

from checks.profiling.columns import TableProfile
from connectors.mapping import CANONICAL_FIELDS
from connectors.source import Source

# Canonical field → names it goes by (folded: lower case, no accents, no separators).
FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "first_name": ("firstname", "first", "givenname", "forename", "fname", "vorname", "prenom", "nombre",
                   "nombrepila"),
    "last_name": ("lastname", "last", "surname", "familyname", "lname", "nachname", "familienname", "nom",
                  "nomdefamille", "apellido", "apellidos"),
    "name": ("name", "nom", "nombre", "accountname", "dealname", "opportunityname", "titulo", "titre", "companyname", "organisationname", "organizationname", "firmenname",
             "raisonsociale", "nomentreprise", "nomsociete", "razonsocial", "nombreempresa", "nombrecuenta"),
    "company": ("company", "companyname", "organisation", "organization", "firma", "unternehmen", "entreprise",
                "societe", "empresa", "compania"),
    "email": ("email", "emailaddress", "mail", "emailadresse", "courriel", "adressemail", "correo",
              "correoelectronico"),
    "phone": ("phone", "phonenumber", "telephone", "tel", "mobile", "mobilephone", "cell", "cellphone",
              "telefon", "telefonnummer", "handy", "mobil", "portable", "telefono", "movil", "celular"),
    "title": ("title", "jobtitle", "position", "titel", "berufsbezeichnung", "poste", "fonction", "cargo",
              "puesto"),
    "street": ("street", "address", "streetaddress", "address1", "addressline1", "strasse", "anschrift",
               "adresse", "rue", "calle", "direccion", "domicilio"),
    "city": ("city", "town", "stadt", "ort", "wohnort", "ville", "ciudad", "localidad", "poblacion", "municipio"),
    "state": ("state", "province", "bundesland", "etat", "departement", "provincia"),
    "postal_code": ("postalcode", "postcode", "zip", "zipcode", "plz", "postleitzahl", "codepostal", "cp",
                    "codigopostal"),
    "country": ("country", "countrycode", "land", "pays", "pais", "nation", "nacion"),
    "created_at": ("createdat", "created", "createddate", "creationdate", "createdon", "datecreated",
                   "createtime", "erstellt", "erstelltam", "angelegt", "angelegtam", "datecreation", "creele",
                   "fechacreacion", "creado", "fechaalta", "creadoel"),
    "modified_at": ("modifiedat", "updatedat", "modified", "updated", "lastmodified", "lastmodifieddate",
                    "lastupdated", "datemodified", "updatetime", "geaendert", "geandert", "aktualisiert",
                    "geaendertam", "datemodification", "modifiele", "misajour", "fechamodificacion",
                    "actualizado", "modificado", "fechaactualizacion"),
    "owner_id": ("ownerid", "owner", "assignedto", "assigneduserid", "assignedtoid", "salesrep", "salesrepid",
                 "besitzer", "verantwortlich", "betreuer", "proprietaire", "responsable", "propietario",
                 "responsableid"),
    "account_id": ("accountid", "companyid", "organizationid", "organisationid", "orgid", "firmaid", "firmenid",
                   "unternehmenid", "entrepriseid", "societeid", "compteid", "empresaid", "cuentaid", "idempresa",
                   "idcuenta"),
    "website": ("website", "web", "url", "homepage", "site", "siteweb", "webseite", "sitioweb", "paginaweb"),
    "amount": ("amount", "value", "dealvalue", "dealamount", "betrag", "wert", "montant", "importe", "monto",
               "valor"),
    "stage": ("stage", "dealstage", "stagename", "phase", "etape", "etapa", "fase"),
    "close_date": ("closedate", "expectedclose", "closingdate", "expectedclosedate", "abschlussdatum",
                   "datecloture", "fechacierre"),
    "status": ("status", "leadstatus", "statut", "estado"),
    "is_won": ("iswon", "won", "gewonnen", "gagne", "ganado"),
    "is_closed": ("isclosed", "closed", "geschlossen", "ferme", "cerrado"),
    "active": ("active", "isactive", "enabled", "aktiv", "actif", "activo"),
    "converted": ("converted", "isconverted", "konvertiert", "converti", "convertido"),
}
# Entity → table names it goes by (folded, singular and plural).
TABLE_NAMES: dict[str, tuple[str, ...]] = {
    "contact": ("contacts", "contact", "people", "person", "persons", "customers", "customer", "clients", "client",
                "kontakte", "kontakt", "kunden", "kunde", "personen", "person", "clientes", "cliente", "contactos",
                "contacto", "personas"),
    "account": ("accounts", "account", "companies", "company", "organizations", "organisations", "organization",
                "orgs", "firmen", "unternehmen", "societes", "entreprises", "comptes", "empresas", "cuentas",
                "organizaciones"),
    "lead": ("leads", "lead", "prospects", "prospect", "interessenten", "pistes", "prospectos", "clientespotenciales"),
    "opportunity": ("opportunities", "opportunity", "deals", "deal", "pipeline", "chancen", "verkaufschancen",
                    "opportunites", "affaires", "oportunidades", "oportunidad", "negocios", "tratos"),
    "user": ("users", "user", "employees", "staff", "salesreps", "agents", "benutzer", "mitarbeiter",
             "utilisateurs", "usuarios", "empleados"),
}
SOFT_DELETE_NAMES = ("deleted", "isdeleted", "removed", "geloescht", "geloscht", "supprime", "eliminado", "borrado")
# Meanings a column's content can prove, and the field each stands for when the name says nothing.
CONTENT_FIELDS = {"email": "email", "phone": "phone", "country": "country", "postal code": "postal_code"}


def fold(name: str) -> str:
    """A column or table name as the synonyms are written: accents folded, `__c` dropped, no separators."""
    name = name.removesuffix("__c").removesuffix("__C").replace("ß", "ss")
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", plain.lower())


def name_field(column: str, entity: str) -> str | None:
    """The canonical field of `entity` a column's name says it is, or None."""
    folded = fold(column)
    known = CANONICAL_FIELDS[entity]
    for f in known:
        if folded in FIELD_NAMES.get(f, ()):
            return f
    # A prefixed name: `billing_country`, `contact_email`, `mailingpostalcode` (long synonyms only).
    for f in known:
        if any(len(s) >= 5 and folded.endswith(s) for s in FIELD_NAMES.get(f, ())):
            return f
    return None


@dataclass
class MappedTable:
    """One table mapped to an entity: key, soft delete, fields and custom fields."""

    entity: str
    table: str
    key: str
    fields: dict[str, str]
    custom: dict[str, str]
    soft_delete: str | None


def entity_of(table: str, profile: TableProfile) -> str | None:
    """The entity a table is: by its name, else by the fields its columns are."""
    folded = fold(table)
    for entity, names in TABLE_NAMES.items():
        if folded in names:
            return entity
    fields = {name_field(c, e) for e in CANONICAL_FIELDS for c in profile.columns}
    meanings = {p.meaning for p in profile.columns.values()}
    people = ({"first_name", "last_name"} & fields) and ({"email", "phone"} & fields or {"email", "phone"} & meanings)
    if people and {"status", "converted"} & fields:
        return "lead"
    if people:
        return "contact"
    if {"amount", "stage"} <= fields or {"amount", "close_date"} <= fields:
        return "opportunity"
    if "name" in fields and ({"website", "phone", "country", "city"} & fields):
        return "account"
    return None


def map_table(source: Source, entity: str, table: str, profile: TableProfile) -> MappedTable | None:
    """A table's mapping onto `entity`, or None without a key."""
    columns = list(profile.columns)
    key = _key(source, table, columns, profile)
    if key is None:
        return None
    fields: dict[str, str] = {}
    soft = None
    for column in columns:
        if column == key:
            continue
        if fold(column) in SOFT_DELETE_NAMES and soft is None:
            soft = column
            continue
        f = name_field(column, entity)
        if f is None and (by_content := CONTENT_FIELDS.get(profile.columns[column].meaning)):
            f = by_content if by_content in CANONICAL_FIELDS[entity] else None
        if f == "name" and entity in ("contact", "lead", "user"):
            f = None
        if f is not None and f not in fields:
            fields[f] = column
    custom = {}
    for column in columns:
        if column in fields.values() or column in (key, soft):
            continue
        name = custom_name(column)
        if name and name not in CANONICAL_FIELDS[entity] and name not in custom:
            custom[name] = column
    soft_sql = None
    if soft is not None:
        is_bool = isinstance(source.column_types(table).get(soft), sa.Boolean)
        soft_sql = f"{source.quote(table)}.{source.quote(soft)} = {'TRUE' if is_bool else '1'}"
    return MappedTable(entity, table, key, fields, custom, soft_sql)


def _key(source: Source, table: str, columns: list[str], profile: TableProfile) -> str | None:
    declared = source.primary_key(table)
    if len(declared) == 1:
        return declared[0]
    folded = {fold(c): c for c in columns}
    for candidate in ("id", f"{fold(table)}id", f"{fold(table).rstrip('s')}id", "key", "uuid", "guid", "nr"):
        if candidate in folded:
            return folded[candidate]
    unique = [c for c, p in profile.columns.items() if p.filled == p.rows and p.distinct == p.rows and p.rows]
    return unique[0] if unique else None


def custom_name(column: str) -> str | None:
    """A column's name as a custom field: snake_case, accents folded, `__c` dropped (`Region__c` → `region`)."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", column.removesuffix("__c").removesuffix("__C"))
    plain = unicodedata.normalize("NFKD", spaced.replace("ß", "ss")).encode("ascii", "ignore").decode()
    name = re.sub(r"[^a-z0-9]+", "_", plain.lower()).strip("_")
    if not name:
        return None
    return name if name[0].isalpha() else f"f_{name}"
