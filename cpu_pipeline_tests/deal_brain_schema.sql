-- Deal Brain's `cpu` and `listing` tables as its Alembic migrations leave them (`alembic upgrade heads`
-- at upstream commit f20fe40d7e0d1b6bd30646ebe3b59ea98503f00f of miethe/deal-brain, MIT licence),
-- copied from `pg_dump --schema-only` of such a database: every column with its type, NOT NULL and
-- default, the sequences, primary keys, unique constraints, indexes and foreign keys. The tables that
-- `listing`'s foreign keys point at are copied too, and `alembic_version`; nothing else is.

--
-- Name: ram_generation; Type: TYPE
--

CREATE TYPE public.ram_generation AS ENUM (
    'ddr3',
    'ddr4',
    'ddr5',
    'lpddr4',
    'lpddr4x',
    'lpddr5',
    'lpddr5x',
    'hbm2',
    'hbm3',
    'unknown'
);

--
-- Name: storage_medium; Type: TYPE
--

CREATE TYPE public.storage_medium AS ENUM (
    'nvme',
    'sata_ssd',
    'hdd',
    'hybrid',
    'emmc',
    'ufs',
    'unknown'
);

--
-- Name: alembic_version; Type: TABLE
--

CREATE TABLE public.alembic_version (
    version_num character varying(32) NOT NULL
);

--
-- Name: cpu; Type: TABLE
--

CREATE TABLE public.cpu (
    id integer NOT NULL,
    name character varying(255) NOT NULL,
    manufacturer character varying(64) NOT NULL,
    socket character varying(64),
    cores integer,
    threads integer,
    tdp_w integer,
    igpu_model character varying(255),
    cpu_mark_multi integer,
    cpu_mark_single integer,
    release_year integer,
    notes text,
    created_at timestamp without time zone DEFAULT now() NOT NULL,
    updated_at timestamp without time zone DEFAULT now() NOT NULL,
    attributes_json json DEFAULT '{}'::jsonb NOT NULL,
    igpu_mark integer,
    passmark_slug character varying(512),
    passmark_category character varying(64),
    passmark_id character varying(64),
    price_target_good double precision,
    price_target_great double precision,
    price_target_fair double precision,
    price_target_sample_size integer DEFAULT 0 NOT NULL,
    price_target_confidence character varying(16),
    price_target_stddev double precision,
    price_target_updated_at timestamp without time zone,
    dollar_per_mark_single double precision,
    dollar_per_mark_multi double precision,
    performance_value_percentile double precision,
    performance_value_rating character varying(16),
    performance_metrics_updated_at timestamp without time zone
);

--
-- Name: gpu; Type: TABLE
--

CREATE TABLE public.gpu (
    id integer NOT NULL,
    name character varying(255) NOT NULL,
    manufacturer character varying(64) NOT NULL,
    gpu_mark integer,
    metal_score integer,
    notes text,
    created_at timestamp without time zone DEFAULT now() NOT NULL,
    updated_at timestamp without time zone DEFAULT now() NOT NULL,
    attributes_json json DEFAULT '{}'::jsonb NOT NULL
);

--
-- Name: listing; Type: TABLE
--

CREATE TABLE public.listing (
    id integer NOT NULL,
    title character varying(255) NOT NULL,
    listing_url text,
    seller character varying(128),
    price_usd double precision,
    price_date timestamp without time zone,
    condition character varying(16) DEFAULT 'used'::character varying NOT NULL,
    status character varying(16) DEFAULT 'active'::character varying NOT NULL,
    cpu_id integer,
    gpu_id integer,
    ports_profile_id integer,
    device_model character varying(255),
    ram_gb integer DEFAULT 0 NOT NULL,
    ram_notes text,
    primary_storage_gb integer DEFAULT 0 NOT NULL,
    primary_storage_type character varying(64),
    secondary_storage_gb integer,
    secondary_storage_type character varying(64),
    os_license character varying(64),
    other_components json DEFAULT '[]'::json NOT NULL,
    notes text,
    raw_listing_json json,
    adjusted_price_usd double precision,
    valuation_breakdown json,
    score_cpu_multi double precision,
    score_cpu_single double precision,
    score_gpu double precision,
    score_composite double precision,
    dollar_per_cpu_mark double precision,
    dollar_per_single_mark double precision,
    perf_per_watt double precision,
    active_profile_id integer,
    created_at timestamp without time zone DEFAULT now() NOT NULL,
    updated_at timestamp without time zone DEFAULT now() NOT NULL,
    attributes_json json DEFAULT '{}'::jsonb NOT NULL,
    dollar_per_cpu_mark_single double precision,
    dollar_per_cpu_mark_single_adjusted double precision,
    dollar_per_cpu_mark_multi double precision,
    dollar_per_cpu_mark_multi_adjusted double precision,
    manufacturer character varying(64),
    series character varying(128),
    model_number character varying(128),
    form_factor character varying(32),
    other_urls json NOT NULL,
    ruleset_id integer,
    ram_spec_id integer,
    primary_storage_profile_id integer,
    secondary_storage_profile_id integer,
    vendor_item_id character varying(128),
    marketplace character varying(16) DEFAULT 'other'::character varying NOT NULL,
    provenance character varying(64),
    last_seen_at timestamp without time zone DEFAULT now() NOT NULL,
    dedup_hash character varying(64),
    quality character varying(20) DEFAULT 'full'::character varying NOT NULL,
    extraction_metadata json DEFAULT '{}'::json NOT NULL,
    missing_fields json DEFAULT '[]'::json NOT NULL
);

--
-- Name: ports_profile; Type: TABLE
--

CREATE TABLE public.ports_profile (
    id integer NOT NULL,
    name character varying(128) NOT NULL,
    description text,
    created_at timestamp without time zone DEFAULT now() NOT NULL,
    updated_at timestamp without time zone DEFAULT now() NOT NULL,
    attributes_json json DEFAULT '{}'::jsonb NOT NULL
);

--
-- Name: profile; Type: TABLE
--

CREATE TABLE public.profile (
    id integer NOT NULL,
    name character varying(128) NOT NULL,
    description text,
    weights_json json DEFAULT '{}'::json NOT NULL,
    is_default boolean DEFAULT false NOT NULL,
    created_at timestamp without time zone DEFAULT now() NOT NULL,
    updated_at timestamp without time zone DEFAULT now() NOT NULL,
    rule_group_weights json DEFAULT '{}'::jsonb NOT NULL
);

--
-- Name: ram_spec; Type: TABLE
--

CREATE TABLE public.ram_spec (
    id integer NOT NULL,
    label character varying(128),
    ddr_generation public.ram_generation NOT NULL,
    speed_mhz integer,
    module_count integer,
    capacity_per_module_gb integer,
    total_capacity_gb integer,
    attributes_json json NOT NULL,
    notes text,
    created_at timestamp without time zone DEFAULT now() NOT NULL,
    updated_at timestamp without time zone DEFAULT now() NOT NULL
);

--
-- Name: storage_profile; Type: TABLE
--

CREATE TABLE public.storage_profile (
    id integer NOT NULL,
    label character varying(128),
    medium public.storage_medium NOT NULL,
    interface character varying(64),
    form_factor character varying(64),
    capacity_gb integer,
    performance_tier character varying(64),
    attributes_json json NOT NULL,
    notes text,
    created_at timestamp without time zone DEFAULT now() NOT NULL,
    updated_at timestamp without time zone DEFAULT now() NOT NULL
);

--
-- Name: valuation_ruleset; Type: TABLE
--

CREATE TABLE public.valuation_ruleset (
    id integer NOT NULL,
    name character varying(128) NOT NULL,
    description text,
    version character varying(32) DEFAULT '1.0.0'::character varying NOT NULL,
    is_active boolean DEFAULT true NOT NULL,
    created_by character varying(128),
    metadata_json json DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    priority integer NOT NULL,
    conditions_json json NOT NULL
);

--
-- Name: cpu_id_seq; Type: SEQUENCE
--

CREATE SEQUENCE public.cpu_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: gpu_id_seq; Type: SEQUENCE
--

CREATE SEQUENCE public.gpu_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: listing_id_seq; Type: SEQUENCE
--

CREATE SEQUENCE public.listing_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: ports_profile_id_seq; Type: SEQUENCE
--

CREATE SEQUENCE public.ports_profile_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: profile_id_seq; Type: SEQUENCE
--

CREATE SEQUENCE public.profile_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: ram_spec_id_seq; Type: SEQUENCE
--

CREATE SEQUENCE public.ram_spec_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: storage_profile_id_seq; Type: SEQUENCE
--

CREATE SEQUENCE public.storage_profile_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: valuation_ruleset_id_seq; Type: SEQUENCE
--

CREATE SEQUENCE public.valuation_ruleset_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: cpu_id_seq; Type: SEQUENCE OWNED BY
--

ALTER SEQUENCE public.cpu_id_seq OWNED BY public.cpu.id;

--
-- Name: gpu_id_seq; Type: SEQUENCE OWNED BY
--

ALTER SEQUENCE public.gpu_id_seq OWNED BY public.gpu.id;

--
-- Name: listing_id_seq; Type: SEQUENCE OWNED BY
--

ALTER SEQUENCE public.listing_id_seq OWNED BY public.listing.id;

--
-- Name: ports_profile_id_seq; Type: SEQUENCE OWNED BY
--

ALTER SEQUENCE public.ports_profile_id_seq OWNED BY public.ports_profile.id;

--
-- Name: profile_id_seq; Type: SEQUENCE OWNED BY
--

ALTER SEQUENCE public.profile_id_seq OWNED BY public.profile.id;

--
-- Name: ram_spec_id_seq; Type: SEQUENCE OWNED BY
--

ALTER SEQUENCE public.ram_spec_id_seq OWNED BY public.ram_spec.id;

--
-- Name: storage_profile_id_seq; Type: SEQUENCE OWNED BY
--

ALTER SEQUENCE public.storage_profile_id_seq OWNED BY public.storage_profile.id;

--
-- Name: valuation_ruleset_id_seq; Type: SEQUENCE OWNED BY
--

ALTER SEQUENCE public.valuation_ruleset_id_seq OWNED BY public.valuation_ruleset.id;

--
-- Name: cpu id; Type: DEFAULT
--

ALTER TABLE ONLY public.cpu ALTER COLUMN id SET DEFAULT nextval('public.cpu_id_seq'::regclass);

--
-- Name: gpu id; Type: DEFAULT
--

ALTER TABLE ONLY public.gpu ALTER COLUMN id SET DEFAULT nextval('public.gpu_id_seq'::regclass);

--
-- Name: listing id; Type: DEFAULT
--

ALTER TABLE ONLY public.listing ALTER COLUMN id SET DEFAULT nextval('public.listing_id_seq'::regclass);

--
-- Name: ports_profile id; Type: DEFAULT
--

ALTER TABLE ONLY public.ports_profile ALTER COLUMN id SET DEFAULT nextval('public.ports_profile_id_seq'::regclass);

--
-- Name: profile id; Type: DEFAULT
--

ALTER TABLE ONLY public.profile ALTER COLUMN id SET DEFAULT nextval('public.profile_id_seq'::regclass);

--
-- Name: ram_spec id; Type: DEFAULT
--

ALTER TABLE ONLY public.ram_spec ALTER COLUMN id SET DEFAULT nextval('public.ram_spec_id_seq'::regclass);

--
-- Name: storage_profile id; Type: DEFAULT
--

ALTER TABLE ONLY public.storage_profile ALTER COLUMN id SET DEFAULT nextval('public.storage_profile_id_seq'::regclass);

--
-- Name: valuation_ruleset id; Type: DEFAULT
--

ALTER TABLE ONLY public.valuation_ruleset ALTER COLUMN id SET DEFAULT nextval('public.valuation_ruleset_id_seq'::regclass);

--
-- Name: alembic_version alembic_version_pkc; Type: CONSTRAINT
--

ALTER TABLE ONLY public.alembic_version
    ADD CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num);

--
-- Name: cpu cpu_name_key; Type: CONSTRAINT
--

ALTER TABLE ONLY public.cpu
    ADD CONSTRAINT cpu_name_key UNIQUE (name);

--
-- Name: cpu cpu_pkey; Type: CONSTRAINT
--

ALTER TABLE ONLY public.cpu
    ADD CONSTRAINT cpu_pkey PRIMARY KEY (id);

--
-- Name: gpu gpu_name_key; Type: CONSTRAINT
--

ALTER TABLE ONLY public.gpu
    ADD CONSTRAINT gpu_name_key UNIQUE (name);

--
-- Name: gpu gpu_pkey; Type: CONSTRAINT
--

ALTER TABLE ONLY public.gpu
    ADD CONSTRAINT gpu_pkey PRIMARY KEY (id);

--
-- Name: listing listing_pkey; Type: CONSTRAINT
--

ALTER TABLE ONLY public.listing
    ADD CONSTRAINT listing_pkey PRIMARY KEY (id);

--
-- Name: ports_profile ports_profile_name_key; Type: CONSTRAINT
--

ALTER TABLE ONLY public.ports_profile
    ADD CONSTRAINT ports_profile_name_key UNIQUE (name);

--
-- Name: ports_profile ports_profile_pkey; Type: CONSTRAINT
--

ALTER TABLE ONLY public.ports_profile
    ADD CONSTRAINT ports_profile_pkey PRIMARY KEY (id);

--
-- Name: profile profile_name_key; Type: CONSTRAINT
--

ALTER TABLE ONLY public.profile
    ADD CONSTRAINT profile_name_key UNIQUE (name);

--
-- Name: profile profile_pkey; Type: CONSTRAINT
--

ALTER TABLE ONLY public.profile
    ADD CONSTRAINT profile_pkey PRIMARY KEY (id);

--
-- Name: ram_spec ram_spec_pkey; Type: CONSTRAINT
--

ALTER TABLE ONLY public.ram_spec
    ADD CONSTRAINT ram_spec_pkey PRIMARY KEY (id);

--
-- Name: storage_profile storage_profile_pkey; Type: CONSTRAINT
--

ALTER TABLE ONLY public.storage_profile
    ADD CONSTRAINT storage_profile_pkey PRIMARY KEY (id);

--
-- Name: listing uq_listing_vendor_id; Type: CONSTRAINT
--

ALTER TABLE ONLY public.listing
    ADD CONSTRAINT uq_listing_vendor_id UNIQUE (vendor_item_id, marketplace);

--
-- Name: ram_spec uq_ram_spec_dimensions; Type: CONSTRAINT
--

ALTER TABLE ONLY public.ram_spec
    ADD CONSTRAINT uq_ram_spec_dimensions UNIQUE (ddr_generation, speed_mhz, module_count, capacity_per_module_gb, total_capacity_gb);

--
-- Name: storage_profile uq_storage_profile_dimensions; Type: CONSTRAINT
--

ALTER TABLE ONLY public.storage_profile
    ADD CONSTRAINT uq_storage_profile_dimensions UNIQUE (medium, interface, form_factor, capacity_gb, performance_tier);

--
-- Name: valuation_ruleset valuation_ruleset_name_key; Type: CONSTRAINT
--

ALTER TABLE ONLY public.valuation_ruleset
    ADD CONSTRAINT valuation_ruleset_name_key UNIQUE (name);

--
-- Name: valuation_ruleset valuation_ruleset_pkey; Type: CONSTRAINT
--

ALTER TABLE ONLY public.valuation_ruleset
    ADD CONSTRAINT valuation_ruleset_pkey PRIMARY KEY (id);

--
-- Name: idx_cpu_cores; Type: INDEX
--

CREATE INDEX idx_cpu_cores ON public.cpu USING btree (cores);

--
-- Name: idx_cpu_manufacturer; Type: INDEX
--

CREATE INDEX idx_cpu_manufacturer ON public.cpu USING btree (manufacturer);

--
-- Name: idx_cpu_performance_value; Type: INDEX
--

CREATE INDEX idx_cpu_performance_value ON public.cpu USING btree (dollar_per_mark_single, dollar_per_mark_multi);

--
-- Name: idx_cpu_price_targets; Type: INDEX
--

CREATE INDEX idx_cpu_price_targets ON public.cpu USING btree (price_target_good, price_target_confidence);

--
-- Name: idx_cpu_socket; Type: INDEX
--

CREATE INDEX idx_cpu_socket ON public.cpu USING btree (socket);

--
-- Name: idx_listing_quality; Type: INDEX
--

CREATE INDEX idx_listing_quality ON public.listing USING btree (quality);

--
-- Name: idx_listing_quality_created; Type: INDEX
--

CREATE INDEX idx_listing_quality_created ON public.listing USING btree (quality, created_at);

--
-- Name: ix_cpu_id; Type: INDEX
--

CREATE INDEX ix_cpu_id ON public.cpu USING btree (id);

--
-- Name: ix_gpu_id; Type: INDEX
--

CREATE INDEX ix_gpu_id ON public.gpu USING btree (id);

--
-- Name: ix_listing_adjusted_price_usd_id; Type: INDEX
--

CREATE INDEX ix_listing_adjusted_price_usd_id ON public.listing USING btree (adjusted_price_usd, id);

--
-- Name: ix_listing_created_at_id_desc; Type: INDEX
--

CREATE INDEX ix_listing_created_at_id_desc ON public.listing USING btree (created_at DESC, id DESC);

--
-- Name: ix_listing_dedup_hash; Type: INDEX
--

CREATE INDEX ix_listing_dedup_hash ON public.listing USING btree (dedup_hash);

--
-- Name: ix_listing_dollar_per_cpu_mark_multi_id; Type: INDEX
--

CREATE INDEX ix_listing_dollar_per_cpu_mark_multi_id ON public.listing USING btree (dollar_per_cpu_mark_multi, id);

--
-- Name: ix_listing_dollar_per_cpu_mark_single_id; Type: INDEX
--

CREATE INDEX ix_listing_dollar_per_cpu_mark_single_id ON public.listing USING btree (dollar_per_cpu_mark_single, id);

--
-- Name: ix_listing_form_factor_id; Type: INDEX
--

CREATE INDEX ix_listing_form_factor_id ON public.listing USING btree (form_factor, id);

--
-- Name: ix_listing_manufacturer_id; Type: INDEX
--

CREATE INDEX ix_listing_manufacturer_id ON public.listing USING btree (manufacturer, id);

--
-- Name: ix_listing_price_usd_id; Type: INDEX
--

CREATE INDEX ix_listing_price_usd_id ON public.listing USING btree (price_usd, id);

--
-- Name: ix_listing_updated_at_id_desc; Type: INDEX
--

CREATE INDEX ix_listing_updated_at_id_desc ON public.listing USING btree (updated_at DESC, id DESC);

--
-- Name: listing fk_listing_primary_storage_profile_id; Type: FK CONSTRAINT
--

ALTER TABLE ONLY public.listing
    ADD CONSTRAINT fk_listing_primary_storage_profile_id FOREIGN KEY (primary_storage_profile_id) REFERENCES public.storage_profile(id) ON DELETE SET NULL;

--
-- Name: listing fk_listing_ram_spec_id; Type: FK CONSTRAINT
--

ALTER TABLE ONLY public.listing
    ADD CONSTRAINT fk_listing_ram_spec_id FOREIGN KEY (ram_spec_id) REFERENCES public.ram_spec(id) ON DELETE SET NULL;

--
-- Name: listing fk_listing_ruleset_id; Type: FK CONSTRAINT
--

ALTER TABLE ONLY public.listing
    ADD CONSTRAINT fk_listing_ruleset_id FOREIGN KEY (ruleset_id) REFERENCES public.valuation_ruleset(id) ON DELETE SET NULL;

--
-- Name: listing fk_listing_secondary_storage_profile_id; Type: FK CONSTRAINT
--

ALTER TABLE ONLY public.listing
    ADD CONSTRAINT fk_listing_secondary_storage_profile_id FOREIGN KEY (secondary_storage_profile_id) REFERENCES public.storage_profile(id) ON DELETE SET NULL;

--
-- Name: listing listing_active_profile_id_fkey; Type: FK CONSTRAINT
--

ALTER TABLE ONLY public.listing
    ADD CONSTRAINT listing_active_profile_id_fkey FOREIGN KEY (active_profile_id) REFERENCES public.profile(id);

--
-- Name: listing listing_cpu_id_fkey; Type: FK CONSTRAINT
--

ALTER TABLE ONLY public.listing
    ADD CONSTRAINT listing_cpu_id_fkey FOREIGN KEY (cpu_id) REFERENCES public.cpu(id);

--
-- Name: listing listing_gpu_id_fkey; Type: FK CONSTRAINT
--

ALTER TABLE ONLY public.listing
    ADD CONSTRAINT listing_gpu_id_fkey FOREIGN KEY (gpu_id) REFERENCES public.gpu(id);

--
-- Name: listing listing_ports_profile_id_fkey; Type: FK CONSTRAINT
--

ALTER TABLE ONLY public.listing
    ADD CONSTRAINT listing_ports_profile_id_fkey FOREIGN KEY (ports_profile_id) REFERENCES public.ports_profile(id);
