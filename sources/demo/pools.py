"""Reference vocabularies for the demo customers (names, streets, cities, companies).

Every string here is latin-1 encodable on purpose: the logistics export is written in latin-1
and a name it cannot encode would become an undecodable-text defect we did not choose.
Order matters: earlier entries are drawn more often (Zipf-like weights), so the head of each
list holds the common names.
"""

from __future__ import annotations

# (given name, nickname or short form used by some systems, or "")
ES_MALE: list[tuple[str, str]] = [
    ("José", "Pepe"), ("Antonio", "Toño"), ("Manuel", "Manolo"), ("Francisco", "Paco"),
    ("David", ""), ("Juan", ""), ("Javier", "Javi"), ("José Antonio", "José"),
    ("José Luis", "José"), ("Jesús", "Chus"), ("Carlos", ""), ("Alejandro", "Álex"),
    ("Miguel", ""), ("José Manuel", "Chema"), ("Rafael", "Rafa"), ("Pedro", ""),
    ("Ángel", ""), ("Daniel", "Dani"), ("Pablo", ""), ("Fernando", "Nando"), ("Luis", ""),
    ("Sergio", ""), ("Jorge", ""), ("Alberto", "Berto"), ("Juan Carlos", "Juan"),
    ("Francisco Javier", "Fran"), ("Diego", ""), ("Adrián", ""), ("Álvaro", ""), ("Raúl", ""),
    ("Enrique", "Quique"), ("Ramón", ""), ("Vicente", "Vicen"), ("Ignacio", "Nacho"),
    ("Andrés", ""), ("Rubén", ""), ("Óscar", ""), ("Joaquín", "Quino"), ("Santiago", "Santi"),
    ("Eduardo", "Edu"), ("Víctor", ""), ("Roberto", "Rober"), ("Jaime", ""), ("Mario", ""),
    ("Marcos", ""), ("Guillermo", "Guille"), ("Salvador", "Salva"), ("Iñaki", ""),
    ("Íñigo", ""), ("Gonzalo", ""), ("Hugo", ""), ("Mateo", ""), ("Martín", ""),
    ("Lucas", ""), ("Nicolás", "Nico"), ("Emilio", ""), ("Julián", ""), ("Tomás", ""),
    ("Agustín", ""), ("Cristóbal", ""), ("Sebastián", "Sebas"), ("José María", "Chema"),
    ("Juan José", "Juanjo"), ("José Ángel", "José"), ("Juan Manuel", "Juanma"),
    ("Luis Miguel", "Luismi"), ("Alfonso", "Fonsi"), ("Gregorio", "Goyo"), ("Gustavo", ""),
    ("Ernesto", ""), ("Fermín", ""), ("Xavier", ""), ("Jordi", ""), ("Aitor", ""),
    ("Unai", ""), ("Borja", ""), ("Rodrigo", ""), ("Germán", ""), ("Ismael", ""),
    ("Gabriel", "Gabi"), ("Marc", ""), ("Pau", ""), ("Arnau", ""), ("Xabier", ""),
]

ES_FEMALE: list[tuple[str, str]] = [
    ("María", "Mari"), ("Carmen", "Mamen"), ("Josefa", "Pepa"), ("Isabel", "Isa"),
    ("Ana", ""), ("Laura", ""), ("María Pilar", "Pili"), ("María Dolores", "Lola"),
    ("Lucía", ""), ("María Teresa", "Maite"), ("Cristina", "Cris"), ("Marta", ""),
    ("Antonia", "Toñi"), ("Francisca", "Paqui"), ("Dolores", "Lola"), ("Elena", ""),
    ("Sara", ""), ("Paula", ""), ("Rosa", ""), ("Raquel", ""), ("Manuela", "Manoli"),
    ("Mercedes", "Merche"), ("Concepción", "Concha"), ("Rosario", "Charo"), ("Pilar", "Pili"),
    ("Beatriz", "Bea"), ("Silvia", ""), ("Nuria", ""), ("Patricia", "Patri"), ("Irene", ""),
    ("Julia", ""), ("Andrea", ""), ("Alba", ""), ("Rocío", ""), ("Sofía", ""), ("Ainhoa", ""),
    ("Begoña", ""), ("Montserrat", "Montse"), ("Inmaculada", "Inma"),
    ("Encarnación", "Encarna"), ("Consuelo", "Chelo"), ("Guadalupe", "Lupe"), ("Ángela", ""),
    ("Nerea", ""), ("Noelia", ""), ("Sonia", ""), ("Susana", ""), ("Yolanda", ""), ("Eva", ""),
    ("Natalia", ""), ("Lorena", ""), ("Verónica", "Vero"), ("María del Carmen", "Mari Carmen"),
    ("María José", "Majo"), ("María Ángeles", "Marián"), ("María Jesús", "Chus"),
    ("Ana Belén", "Ana"), ("Esperanza", "Espe"), ("Remedios", "Reme"), ("Amparo", ""),
    ("Milagros", "Mila"), ("Asunción", "Asun"), ("Purificación", "Puri"), ("Núria", ""),
    ("Montse", ""), ("Itziar", ""), ("Leire", ""), ("Aurora", ""), ("Margarita", "Marga"),
    ("Gemma", ""), ("Judith", ""), ("Miriam", ""), ("Carla", ""), ("Claudia", ""),
]

ES_SURNAMES: list[str] = [
    "García", "Rodríguez", "González", "Fernández", "López", "Martínez", "Sánchez", "Pérez",
    "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Muñoz", "Álvarez",
    "Romero", "Alonso", "Gutiérrez", "Navarro", "Torres", "Domínguez", "Vázquez", "Ramos", "Gil",
    "Ramírez", "Serrano", "Blanco", "Molina", "Morales", "Suárez", "Ortega", "Delgado", "Castro",
    "Ortiz", "Rubio", "Marín", "Sanz", "Núñez", "Iglesias", "Medina", "Garrido", "Cortés",
    "Castillo", "Santos", "Lozano", "Guerrero", "Cano", "Prieto", "Méndez", "Cruz", "Calvo",
    "Gallego", "Vidal", "León", "Márquez", "Herrera", "Peña", "Flores", "Cabrera", "Campos",
    "Vega", "Fuentes", "Carrasco", "Diez", "Caballero", "Reyes", "Nieto", "Aguilar", "Pascual",
    "Santana", "Herrero", "Lorenzo", "Montero", "Hidalgo", "Giménez", "Ibáñez", "Ferrer",
    "Durán", "Santiago", "Benítez", "Mora", "Vicente", "Vargas", "Arias", "Carmona", "Crespo",
    "Román", "Pastor", "Soto", "Sáez", "Velasco", "Moya", "Soler", "Parra", "Esteban", "Bravo",
    "Gallardo", "Rojas", "Pardo", "Merino", "Franco", "Espinosa", "Izquierdo", "Lara", "Rivas",
    "Silva", "Rivera", "Casado", "Arroyo", "Redondo", "Camacho", "Rey", "Vera", "Otero", "Luque",
    "Galán", "Montes", "Ríos", "Sierra", "Segura", "Carrillo", "Marcos", "Marí", "Soriano",
    "Mendoza", "Robles", "Bernal", "Vila", "Valero", "Palacios", "Pons", "Benito", "Quintana",
    "Echeverría", "Aguirre", "Etxeberria", "Goikoetxea", "Ibarra", "Zubizarreta", "Muñiz",
    "Peñalver", "Cañete", "Ordóñez", "Briones", "Yáñez", "Villanueva", "Mateo", "Salas",
    "Cuesta", "Rosado", "Aranda", "Miranda", "Maldonado", "Toledo", "Valencia", "Zamora",
    "Bermúdez", "Castaño", "Barrios", "Quiroga", "Albarracín", "Llorente", "Puig", "Serra",
    "de la Fuente", "de la Torre", "del Río", "de los Santos", "de la Cruz", "del Valle",
    "de Castro", "de la Rosa", "de Miguel", "San Martín", "de la Peña", "del Pino",
]

GB_MALE: list[tuple[str, str]] = [
    ("William", "Bill"), ("Robert", "Bob"), ("James", "Jim"), ("John", "Jack"),
    ("Michael", "Mike"), ("David", "Dave"), ("Richard", "Rick"), ("Thomas", "Tom"),
    ("Christopher", "Chris"), ("Daniel", "Dan"), ("Matthew", "Matt"), ("Anthony", "Tony"),
    ("Andrew", "Andy"), ("Joseph", "Joe"), ("Edward", "Ted"), ("Charles", "Charlie"),
    ("Peter", "Pete"), ("Stephen", "Steve"), ("Jonathan", "Jon"), ("Alexander", "Alex"),
    ("Samuel", "Sam"), ("Benjamin", "Ben"), ("Oliver", "Ollie"), ("George", ""), ("Harry", ""),
    ("Jack", ""), ("Henry", "Harry"), ("Patrick", "Paddy"), ("Liam", ""), ("Ian", ""),
    ("Graham", ""), ("Neil", ""), ("Gareth", ""), ("Rhys", ""), ("Callum", ""), ("Duncan", ""),
    ("Hamish", ""), ("Nicholas", "Nick"), ("Timothy", "Tim"), ("Philip", "Phil"),
    ("Kenneth", "Ken"), ("Gerald", "Gerry"), ("Lawrence", "Larry"), ("Frederick", "Fred"),
]

GB_FEMALE: list[tuple[str, str]] = [
    ("Elizabeth", "Liz"), ("Margaret", "Maggie"), ("Katherine", "Kate"), ("Jennifer", "Jenny"),
    ("Susan", "Sue"), ("Patricia", "Pat"), ("Rebecca", "Becky"), ("Victoria", "Vicky"),
    ("Samantha", "Sam"), ("Deborah", "Debbie"), ("Alexandra", "Alex"), ("Charlotte", "Lottie"),
    ("Emily", ""), ("Olivia", "Liv"), ("Amelia", "Millie"), ("Sophie", ""),
    ("Jessica", "Jess"), ("Lucy", ""), ("Hannah", ""), ("Emma", ""), ("Sarah", ""),
    ("Laura", ""), ("Rachel", ""), ("Claire", ""), ("Gemma", ""), ("Siobhan", ""),
    ("Niamh", ""), ("Eilidh", ""), ("Fiona", ""), ("Catherine", "Cathy"), ("Helen", ""),
    ("Joanne", "Jo"), ("Nicola", "Nicky"), ("Zoe", ""), ("Chloe", ""), ("Megan", "Meg"),
    ("Abigail", "Abby"), ("Eleanor", "Ellie"), ("Florence", "Flo"), ("Penelope", "Penny"),
]

GB_SURNAMES: list[str] = [
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas",
    "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards",
    "Hughes", "Green", "Hall", "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood",
    "Turner", "Martin", "Cooper", "Hill", "Ward", "Morris", "Moore", "Clark", "Lee", "King",
    "Baker", "Harrison", "Morgan", "Allen", "James", "Scott", "Phillips", "Watson", "Davis",
    "Parker", "Price", "Bennett", "Young", "Griffiths", "Mitchell", "Kelly", "Cook", "Carter",
    "Richardson", "Bailey", "Collins", "Bell", "Shaw", "Murphy", "Miller", "Cox", "Richards",
    "Khan", "Marshall", "Anderson", "Simpson", "Ellis", "Adams", "Singh", "Begum", "Wilkinson",
    "Foster", "Chapman", "Powell", "Webb", "Rogers", "Gray", "Mason", "Ali", "Hunt", "Hussain",
    "Campbell", "Matthews", "Owen", "Palmer", "Holmes", "Mills", "Barnes", "Knight", "Lloyd",
    "Butler", "Russell", "Barker", "Fisher", "Stevens", "Jenkins", "Murray", "Dixon", "Harvey",
    "O'Brien", "O'Connor", "O'Neill", "O'Sullivan", "McDonald", "MacLeod", "McKenzie",
    "Fitzgerald", "Smith-Jones", "Lloyd-Webber", "Baden-Powell", "Heath-Stubbs", "D'Arcy",
    "Whitfield", "Ashworth", "Pemberton", "Fairbairn", "Gallagher", "Doherty", "Quinn",
]

# (street type, variants by style: full / abbreviated / legacy code, weight)
ES_STREET_TYPES: list[tuple[tuple[str, str, str], float]] = [
    (("Calle", "C/", "CL"), 0.65), (("Avenida", "Avda.", "AV"), 0.15),
    (("Plaza", "Pza.", "PZ"), 0.07), (("Paseo", "Pº", "PS"), 0.05),
    (("Ronda", "Rda.", "RD"), 0.03), (("Camino", "Cno.", "CM"), 0.03),
    (("Travesía", "Trav.", "TR"), 0.02),
]

ES_STREETS: list[str] = [
    "Mayor", "Real", "Gran Vía", "de Alcalá", "del Prado", "de la Constitución", "San Francisco",
    "Santa María", "de Andalucía", "de Cervantes", "Nueva", "de la Iglesia", "del Sol",
    "de la Paz", "de España", "de Colón", "de Goya", "de Velázquez", "de Serrano", "de Atocha",
    "de Toledo", "de Sevilla", "de Valencia", "del Mar", "de la Libertad", "de Blasco Ibáñez",
    "de Miguel de Unamuno", "de Juan Carlos I", "de los Reyes Católicos", "del Doctor Fleming",
    "de Ramón y Cajal", "de Severo Ochoa", "de García Lorca", "de Antonio Machado",
    "de Pablo Picasso", "de la Estación", "del Carmen", "de San Juan", "de Santiago",
    "del Pilar", "de la Castellana", "Diagonal", "de Gràcia", "de Balmes", "de Larios",
    "de la Alameda", "de la Reina", "del Río", "del Puerto", "de Ibiza", "de Cataluña",
    "de Galicia", "de Castilla", "de Navarra", "de Pío XII", "de los Olmos", "de los Pinos",
    "de las Acacias", "de los Almendros", "de la Huerta", "del Molino", "de la Fuente",
    "de Zurbarán", "de Núñez de Balboa", "de Príncipe de Vergara", "de Bravo Murillo",
    "de la Ermita", "de San Vicente", "del Generalife", "de Triana", "de la Albufera",
]

GB_STREETS: list[str] = [
    "High Street", "Station Road", "Church Lane", "Victoria Road", "Green Lane", "Manor Road",
    "Park Road", "Queens Road", "Kings Road", "Baker Street", "Mill Lane", "The Avenue",
    "London Road", "Grange Road", "York Road", "Albert Road", "Springfield Road",
    "North Street", "New Road", "School Lane", "Chapel Street", "Oxford Road",
    "Cambridge Road", "Mount Pleasant", "Richmond Road", "St John's Road", "Stanley Road",
    "Windsor Road", "Highfield Road", "Main Street", "Elm Grove", "Beech Avenue",
    "Cedar Close", "Orchard Way", "Meadow View", "Castle Street", "Bridge Street",
]

# (city, province/region, postcode prefix, landline prefix, weight)
ES_CITIES: list[tuple[str, str, str, str, float]] = [
    ("Madrid", "Madrid", "28", "91", 20.0), ("Barcelona", "Barcelona", "08", "93", 14.0),
    ("Valencia", "Valencia", "46", "96", 6.0), ("Sevilla", "Sevilla", "41", "95", 5.0),
    ("Zaragoza", "Zaragoza", "50", "976", 3.5), ("Málaga", "Málaga", "29", "952", 4.0),
    ("Murcia", "Murcia", "30", "968", 2.5), ("Palma", "Illes Balears", "07", "971", 2.5),
    ("Las Palmas de Gran Canaria", "Las Palmas", "35", "928", 2.0),
    ("Bilbao", "Bizkaia", "48", "94", 2.5), ("Alicante", "Alicante", "03", "965", 2.5),
    ("Córdoba", "Córdoba", "14", "957", 1.8), ("Valladolid", "Valladolid", "47", "983", 1.8),
    ("Vigo", "Pontevedra", "36", "986", 1.6), ("Gijón", "Asturias", "33", "985", 1.4),
    ("A Coruña", "A Coruña", "15", "981", 1.5), ("Granada", "Granada", "18", "958", 1.5),
    ("Vitoria-Gasteiz", "Álava", "01", "945", 1.2), ("Oviedo", "Asturias", "33", "985", 1.2),
    ("Santa Cruz de Tenerife", "Santa Cruz de Tenerife", "38", "922", 1.2),
    ("Pamplona", "Navarra", "31", "948", 1.2), ("Almería", "Almería", "04", "950", 1.0),
    ("San Sebastián", "Gipuzkoa", "20", "943", 1.1), ("Santander", "Cantabria", "39", "942", 1.0),
    ("Castellón de la Plana", "Castellón", "12", "964", 0.9),
    ("Logroño", "La Rioja", "26", "941", 0.8), ("Badajoz", "Badajoz", "06", "924", 0.8),
    ("Salamanca", "Salamanca", "37", "923", 0.8), ("Huelva", "Huelva", "21", "959", 0.7),
    ("Lleida", "Lleida", "25", "973", 0.7), ("Tarragona", "Tarragona", "43", "977", 0.7),
    ("León", "León", "24", "987", 0.7), ("Cádiz", "Cádiz", "11", "956", 0.7),
    ("Jaén", "Jaén", "23", "953", 0.6), ("Ourense", "Ourense", "32", "988", 0.6),
    ("Girona", "Girona", "17", "972", 0.6), ("Albacete", "Albacete", "02", "967", 0.7),
    ("Burgos", "Burgos", "09", "947", 0.7), ("Cáceres", "Cáceres", "10", "927", 0.5),
    ("Toledo", "Toledo", "45", "925", 0.5), ("Marbella", "Málaga", "29", "952", 0.6),
    ("Benidorm", "Alicante", "03", "965", 0.4), ("Jerez de la Frontera", "Cádiz", "11", "956", 0.6),
    ("Alcalá de Henares", "Madrid", "28", "91", 0.7), ("Getafe", "Madrid", "28", "91", 0.6),
    ("L'Hospitalet de Llobregat", "Barcelona", "08", "93", 0.8),
]

# (city, region, outward codes, landline area code, weight)
GB_CITIES: list[tuple[str, str, tuple[str, ...], str, float]] = [
    ("London", "Greater London",
     ("SW1A", "SW3", "SW11", "SE1", "SE10", "N1", "N7", "NW1", "NW3", "E1", "E14", "EC1A", "W1D",
      "W2", "WC1N", "WC2H"), "20", 30.0),
    ("Manchester", "Greater Manchester", ("M1", "M2", "M4", "M14", "M20"), "161", 6.0),
    ("Birmingham", "West Midlands", ("B1", "B5", "B15", "B29"), "121", 6.0),
    ("Leeds", "West Yorkshire", ("LS1", "LS6", "LS17"), "113", 4.0),
    ("Glasgow", "Glasgow City", ("G1", "G12", "G41"), "141", 4.0),
    ("Edinburgh", "City of Edinburgh", ("EH1", "EH3", "EH10"), "131", 3.5),
    ("Bristol", "Bristol", ("BS1", "BS8", "BS6"), "117", 3.0),
    ("Liverpool", "Merseyside", ("L1", "L17", "L18"), "151", 3.0),
    ("Cardiff", "Cardiff", ("CF10", "CF24", "CF5"), "29", 2.0),
    ("Belfast", "County Antrim", ("BT1", "BT9", "BT7"), "28", 2.0),
    ("Sheffield", "South Yorkshire", ("S1", "S10", "S11"), "114", 2.5),
    ("Newcastle upon Tyne", "Tyne and Wear", ("NE1", "NE2", "NE6"), "191", 2.0),
    ("Oxford", "Oxfordshire", ("OX1", "OX2", "OX4"), "1865", 1.5),
    ("Cambridge", "Cambridgeshire", ("CB1", "CB2", "CB4"), "1223", 1.5),
    ("Brighton", "East Sussex", ("BN1", "BN2", "BN3"), "1273", 1.5),
]

# Company name building blocks.
ES_COMPANY_WORDS: list[str] = [
    "Iberia", "Atlántica", "Mediterránea", "Levante", "Cantábrica", "Hispania", "Solaris",
    "Nova", "Alba", "Castellana", "Aragonesa", "Galaica", "Vértice", "Ínsula", "Horizonte",
    "Meridiana", "Peninsular", "Bética", "Astur", "Navarra", "Sierra Nevada", "Guadalquivir",
    "Ebro", "Duero", "Tajo", "Miño", "Teide", "Montseny", "Moncayo", "Pirineos", "Acme",
    "Orbital", "Cumbre", "Faro", "Brújula", "Cierzo", "Tramontana", "Poniente", "Albor",
    "Aurora", "Zénit", "Nexo", "Puerto", "Olivar", "Viñedo", "Encina", "Roble", "Almendro",
    "Azahar", "Marina", "Estrella", "Delta", "Omega", "Quantum", "Sigma", "Vanguardia",
    "Trébol", "Girasol", "Lince", "Halcón", "Águila", "Cóndor", "Delfín", "Ballena",
]
ES_COMPANY_SECTORS: list[str] = [
    "Soluciones", "Construcciones", "Logística", "Consultores", "Servicios Integrales",
    "Distribuciones", "Ingeniería", "Alimentación", "Transportes", "Informática",
    "Inmobiliaria", "Reformas", "Textil", "Farmacéutica", "Energía", "Asesores",
    "Comunicación", "Hostelería", "Viajes", "Seguridad", "Climatización", "Electricidad",
    "Fontanería", "Carpintería", "Metalúrgica", "Automoción", "Papelería", "Mobiliario",
    "Jardinería", "Limpiezas", "Gestoría", "Arquitectura", "Diseño", "Marketing", "Software",
    "Telecomunicaciones", "Agrícola", "Vinícola", "Conservas", "Panadería",
]
ES_COMPANY_TAILS: list[str] = [
    "", "", "", "", "del Norte", "del Sur", "de Levante", "Ibérica", "Global", "Group",
    "Integral", "Hermanos", "y Asociados", "Madrid", "Barcelona", "2000", "Plus", "Express",
]
GB_COMPANY_WORDS: list[str] = [
    "Northern", "Southern", "Thames", "Pennine", "Albion", "Britannia", "Crown", "Oak",
    "Summit", "Harbour", "Meridian", "Pinnacle", "Kestrel", "Falcon", "Heron", "Granite",
    "Sterling", "Beacon", "Orchard", "Riverside", "Highland", "Lakeland", "Cotswold",
    "Mersey", "Severn", "Tyne", "Clyde", "Avon", "Trent", "Acme", "Apex", "Vantage",
]
GB_COMPANY_SECTORS: list[str] = [
    "Logistics", "Consulting", "Engineering", "Solutions", "Trading", "Holdings", "Foods",
    "Software", "Builders", "Electrical", "Plumbing", "Textiles", "Media", "Design",
    "Analytics", "Estates", "Motors", "Pharma", "Energy", "Freight", "Systems", "Partners",
]
GB_COMPANY_TAILS: list[str] = ["", "", "", "", "UK", "Group", "International", "& Co", "Services"]

# Legal forms: canonical code -> renderings by style
# (0 = proper, 1 = compact, 2 = comma-separated, 3 = spelled out).
LEGAL_FORMS: dict[str, tuple[str, str, str, str]] = {
    "SL": (" S.L.", " SL", ", S.L.", " Sociedad Limitada"),
    "SA": (" S.A.", " SA", ", S.A.", " Sociedad Anónima"),
    "SLU": (" S.L.U.", " SLU", ", S.L.U.", " Sociedad Limitada Unipersonal"),
    "COOP": (" S. Coop.", " SCOOP", ", S. Coop.", " Sociedad Cooperativa"),
    "LTD": (" Ltd", " LTD", " Ltd.", " Limited"),
    "PLC": (" plc", " PLC", " P.L.C.", " Public Limited Company"),
}
# CIF organisation letter for each Spanish legal form.
CIF_LETTER: dict[str, str] = {"SL": "B", "SLU": "B", "SA": "A", "COOP": "F"}

PERSON_DOMAINS_ES: list[str] = [
    "gmail.com", "hotmail.com", "yahoo.es", "outlook.es", "hotmail.es", "telefonica.net",
    "icloud.com", "gmail.com", "gmail.com",
]
PERSON_DOMAINS_GB: list[str] = [
    "gmail.com", "hotmail.co.uk", "btinternet.com", "outlook.com", "yahoo.co.uk", "sky.com",
    "icloud.com", "gmail.com",
]
# Typos people really make in domains; used by the e-mail noise.
DOMAIN_TYPOS: dict[str, tuple[str, ...]] = {
    "gmail.com": ("gmial.com", "gmail.con", "gmai.com", "gmail.co"),
    "hotmail.com": ("hotmial.com", "hotmail.con", "hotmal.com"),
    "hotmail.es": ("hotmial.es", "hotmail.ed"),
    "yahoo.es": ("yaho.es", "yahoo.ess"),
    "outlook.es": ("outlok.es",),
    "outlook.com": ("outlok.com", "outlook.con"),
    "hotmail.co.uk": ("hotmail.co.k", "hotmial.co.uk"),
}
COMPANY_MAILBOXES_ES: list[str] = ["info", "contacto", "administracion", "hola", "ventas"]
COMPANY_MAILBOXES_GB: list[str] = ["info", "hello", "office", "enquiries", "sales"]
