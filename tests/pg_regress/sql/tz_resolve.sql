-- resolve_tz() and local_today() (SPEC §4): explicit tz, else the viewer's stored
-- zone, else UTC; only IANA names; a clear error quoting the value otherwise.
\set SHOW_CONTEXT never
\ir ../fixtures/fresh.sql

SELECT usage_rollup.resolve_tz() AS no_arguments;
SELECT usage_rollup.resolve_tz('Asia/Kolkata'), usage_rollup.resolve_tz('asia/kathmandu'),
       usage_rollup.resolve_tz(tz => 'Pacific/Chatham'), usage_rollup.resolve_tz('Etc/GMT+8');

-- abbreviations, POSIX strings (PostgreSQL would read UTC+8 as 8 hours WEST),
-- empty or padded strings, misspellings, "Local" (seeds W6)
SELECT usage_rollup.resolve_tz('PST');
SELECT usage_rollup.resolve_tz('IST');
SELECT usage_rollup.resolve_tz('UTC+8');
SELECT usage_rollup.resolve_tz('EST5EDT,M3.2.0,M11.1.0');
SELECT usage_rollup.resolve_tz('');
SELECT usage_rollup.resolve_tz(' Asia/Kolkata');
SELECT usage_rollup.resolve_tz('Asia/Kolkatta');
SELECT usage_rollup.resolve_tz('Local');
SELECT usage_rollup.resolve_tz('Mars/Olympus');

-- viewers: needs the users table
SELECT usage_rollup.resolve_tz(viewer_id => app.uid('u1'));
SET client_min_messages = warning;
SELECT usage_rollup.attach(users => 'app.user');
RESET client_min_messages;
INSERT INTO app."user" (id, timezone) VALUES (app.uid('u1'), 'Asia/Tokyo'), (app.uid('u2'), NULL),
                                            (app.uid('u3'), 'Bad/Zone'), (app.uid('u4'), 'UTC+8');
SELECT usage_rollup.resolve_tz(viewer_id => app.uid('u1')) AS stored,
       usage_rollup.resolve_tz(tz => 'America/New_York', viewer_id => app.uid('u1')) AS explicit_wins,
       usage_rollup.resolve_tz(viewer_id => app.uid('u2')) AS stored_null_is_utc;
SELECT usage_rollup.resolve_tz(viewer_id => app.uid('u3'));
SELECT usage_rollup.resolve_tz(viewer_id => app.uid('u4'));
SELECT usage_rollup.resolve_tz(viewer_id => app.uid('nobody'));

-- local_today is the date of now() in the resolved zone, by the server's zone data
SELECT usage_rollup.local_today() = (now() AT TIME ZONE 'UTC')::date AS utc_today,
       usage_rollup.local_today('Pacific/Kiritimati') = (now() AT TIME ZONE 'Pacific/Kiritimati')::date AS kiritimati,
       usage_rollup.local_today(viewer_id => app.uid('u1')) = (now() AT TIME ZONE 'Asia/Tokyo')::date AS viewer_today;
SELECT usage_rollup.local_today('PST');

-- every zone the server knows: which ones resolve_tz refuses (abbreviation-like
-- legacy zones, and server-only names such as posixrules); all others resolve to
-- themselves, and local_today agrees with the server's AT TIME ZONE for each
CREATE FUNCTION pg_temp.refused() RETURNS TABLE (name text, accepted_as text) LANGUAGE plpgsql AS $$
DECLARE z text;
BEGIN
    FOR z IN SELECT n.name FROM pg_timezone_names n ORDER BY 1 LOOP
        BEGIN
            accepted_as := usage_rollup.resolve_tz(z);
            IF accepted_as <> z OR usage_rollup.local_today(z) <> (now() AT TIME ZONE z)::date THEN
                name := z; RETURN NEXT;
            END IF;
        EXCEPTION WHEN invalid_parameter_value THEN
            name := z; accepted_as := NULL; RETURN NEXT;
        END;
    END LOOP;
END $$;
CREATE TEMP TABLE refused AS SELECT * FROM pg_temp.refused();
SELECT * FROM refused WHERE name !~ '^(posix|right)/' ORDER BY 1;
-- Debian's tzdata also lists every zone again under posix/ and right/ (leap seconds)
SELECT bool_and(accepted_as IS NULL) AS posix_and_right_copies_refused FROM refused WHERE name ~ '^(posix|right)/';
SELECT count(*) > 400 AS many_zones_accepted
FROM pg_timezone_names n WHERE n.name !~ '^(posix|right)/' AND n.name NOT IN (SELECT name FROM refused);

SET client_min_messages = warning;
DROP TABLE refused;
SELECT usage_rollup.detach();
DROP SCHEMA app CASCADE;
DROP EXTENSION usage_rollup;
