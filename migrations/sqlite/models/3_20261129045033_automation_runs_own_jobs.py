from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


# Written by hand (the generated ALTERs add a NOT NULL column and a foreign key, which SQLite
# refuses): the tables are rebuilt. Nothing created automation runs before this migration, so
# the tables are empty and nothing is lost.


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "automation_log";
        DROP TABLE IF EXISTS "automation_run";
        CREATE TABLE "automation_run" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "trigger" VARCHAR(16) NOT NULL,
    "current_stage" SMALLINT,
    "stages" JSON NOT NULL,
    "current_item" JSON,
    "reason" VARCHAR(32),
    "scheduled_for" TIMESTAMP,
    "active_site_id" INT UNIQUE,
    "account_id" INT NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
    "job_id" INT NOT NULL UNIQUE REFERENCES "job" ("id") ON DELETE CASCADE,
    "site_id" INT NOT NULL REFERENCES "site" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_automation__site_id_d757a2" UNIQUE ("site_id", "scheduled_for")
);
        CREATE INDEX "idx_automation__created_49b8e0" ON "automation_run" ("created_at");
        CREATE INDEX "idx_automation__site_id_dc3daa" ON "automation_run" ("site_id", "created_at");
        CREATE TABLE "automation_log" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "ts" TIMESTAMP NOT NULL,
    "level" VARCHAR(8) NOT NULL,
    "stage" SMALLINT,
    "message" TEXT NOT NULL,
    "item_id" INT,
    "run_id" INT NOT NULL REFERENCES "automation_run" ("id") ON DELETE CASCADE
);
        CREATE INDEX "idx_automation__run_id_819ef7" ON "automation_log" ("run_id", "ts");"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "automation_log";
        DROP TABLE IF EXISTS "automation_run";
        CREATE TABLE "automation_run" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "trigger" VARCHAR(16) NOT NULL,
    "current_stage" SMALLINT,
    "stages" JSON NOT NULL,
    "credits_used" INT NOT NULL,
    "credits_reserved" INT NOT NULL,
    "checkpoint" JSON NOT NULL,
    "reason" VARCHAR(32),
    "error" TEXT,
    "started_at" TIMESTAMP,
    "finished_at" TIMESTAMP,
    "account_id" INT NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
    "site_id" INT NOT NULL REFERENCES "site" ("id") ON DELETE CASCADE
);
        CREATE INDEX "idx_automation__created_49b8e0" ON "automation_run" ("created_at");
        CREATE INDEX "idx_automation__site_id_98d1cd" ON "automation_run" ("site_id", "status");
        CREATE TABLE "automation_log" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "ts" TIMESTAMP NOT NULL,
    "level" VARCHAR(8) NOT NULL,
    "stage" SMALLINT,
    "message" TEXT NOT NULL,
    "item_id" INT,
    "run_id" INT NOT NULL REFERENCES "automation_run" ("id") ON DELETE CASCADE
);
        CREATE INDEX "idx_automation__run_id_819ef7" ON "automation_log" ("run_id", "ts");"""


MODELS_STATE = (
    "eJztXWtz4zay/SssfdlJlXbKlizbSW7dKmsymXXiGadsT7K1UykOJEESY4pQ+PCj9s5/vw"
    "DfD5AiZJIC6P6SiUk0JZ0Gge7TD/x3sCELbDpvL+Zz4lnu4AftvwMLbTD9n/ytoTZA221y"
    "g11w0cz0x6LUoJnj2mjOnrVEpoPppQV25raxdQ1i0auWZ5rsIpnTgYa1Si55lvG3h3WXrL"
    "C7xja98eVPetmwFvgJO9Gf23t9aWBzkfmyxoJ9tn9dd5+3/rVLy/3ZH8g+babPieltrGTw"
    "9tldEysebQRff4UtbCMXs8e7tse+Pvt24Q+NflHwTZMhwVdMySzwEnmmm/q5Mz25NtD1T9"
    "d3+u37O10fCAA0JxYDl35Vx//1K/YV/jk6Pjk7OR+fnpzTIf7XjK+cfQs+OgEmEPTh+XQ3"
    "+ObfRy4KRvgYJ6DObcyQ0JFbBPcnesc1NpiPcFYyh/QiFH0b/U8e9wjlKuCjCwdCnv6+xb"
    "VlPoefWwHz3eXH97d3Fx9/Yx+3cZy/TR++i7v37M7Iv/qcu/rm9Dt2ndD3KHi/4odof1ze"
    "/Utjf2r/uf703keXOO7K9j8xGXf3nwH7TshziW6RRx0tUhBFVyMY6chE6d52safSs5LdKD"
    "1ZYkDrZVqPMEqpPfz2idb9fwv6frdGNl/X0ficlilaKup1g550E1srd80Wz6OjCsX+fnHz"
    "7l8XN2/oqJy2PoW3RsG9bxl8tyayRPCNxneH72BpYzzoBOHxqAbA41EpvuxWFl663ywM1y"
    "kiPDVWpWZASmi3LdAUzEft2gLfj0bj8dnoaHx6Pjk5O5ucH8VGQfFWlXUwvfzADISMBiKL"
    "ITWtsW2Qhe64yBbeLvKyDWwY4f4my7qi7v4QmAXM2l7ep0xDdmGG5vePyF7ohTtkRMrGFm"
    "9tRpv8FWShla8khib7npEHsjV+xc8Dnm8S3BlWuiZbQ78PB+1yTQYXmmO4+J/OnGzxQqNi"
    "2pLYGnVGtD+IvfiN4uloW9NbGdaPmrMmj5ZGrDl9zj3euhpyNKStkbN+O8hNjyafC04SOE"
    "ngJIGTJK0xrabW6zhJWxsvjSchMz6W6KGjdHxaw4w/zusrMePZraw5STdGnW10IhCnZZoB"
    "+bDbVQbi05MaEJ+elELMbmUhtvEDud9r5cpKgrUuz0JV3J9M5Li65+yl57wsaFpmTYeRF1"
    "3Its8KdUd+SG/mp3wly8Ur+vvp1xDDtii4F76SvTJNw8vcYTFcUxIwYUNECwRNYV0oAvwz"
    "sbGxsn7Fzz7Ol/RLIWvOI/OLAWDFIP4WzaHoavJe2egxJkhyyyFFgP5u7AZ258Xtu4uf3g"
    "8Kk7cBYG/Dx/QU1dQLuxvS1KrZALKX2aeptdTWxbe40fBhPgxp+xO2DLy4ox6DNeAwt+nb"
    "wyr6duEP1N145G4O19LoC80YVV9I+/qXa3zVqCPObFqNvueGqRmu9kg8c6Gt0QPW8NPWsO"
    "k9ZD0/omftjUlWxHO/49C4jT4amFxgcoHJBSZX1o1eUa3XYXLpui3CMYbDgV7cSS8G+52z"
    "x+uUlezfGqru2yNVMsBvyHEeib24wQ52S81LzqhKK3MbjtdtJiBgbUIyM1h3qq9Miu7zYN"
    "29Rq3Xse785Vs4kJyVAluvZ7YeRBgFjL3MGrpfGBkiyOro1xYLxaUkIBS3OxTH4GogqPE5"
    "fIxi4NYNZ6QmlUxxjBu8pO/autTTzNwfVvmYdjBSJJRxbWEtFAsjDmSpIc0mrh/2oWIbw3"
    "z+USPUjNMM1/GzxDXD8fPGi+GLlz8OnFpwasGpBadW1s1GUa3XcWqDxVnEoU0k2ko+75M3"
    "C6QBkAZSWMoKLlZAGrw2/UIZyWvQMlBDQA0BNVRGDfn52xxKKMrrLqeCogRySC9Q6kUeAh"
    "PzenxyYGJeo9brMDHQK63dXmkLsqEfJ4JwItFHjCfjOhhPxuUYs3u58lZHp3aH8cCZyFNC"
    "TIysEnMgLZcDe0YF20I72rC6ddim19dXmUVpeplrifbp88fp+5s3xz72dFBgEvIKXk1vJT"
    "Klo/G9oxTP66wY5+ULxnlhvYAS+LZK4Bceff6zaP17RgqK36FU+4Cl2tFsbADcy9Sj1Jq/"
    "9SuKM69uBl36HbRPn6+uDkm23OK5S+xBCeUS3h3uIl50JxnYKP/yJV3y7n/BP4GSAUoGKB"
    "mgZKTYBhTVOlAyh6dkwMVq2cUKbJI9Pa2MMDhc0G2sHUTBhYVuY9KiKthtLLNyNkgOJE6o"
    "WiuuMEWQ2XOkYgr8ZBgORxAlyZSzA1E2TqtpGV9yC4BNzJAoAGYAmAFgBoAZAGagQWYAb5"
    "BhilADsUDvIq+jSZ1qDjqqIpGgUM8Rd04SrZwpCPaRi5lMaiE+qUB8kkd8adiOq4syXlmp"
    "Do8VHHSC9HEt1uu4gvU6LrJe/kkIokBnhADnOjj7JrAAxNH4DtElj1bgG3QAcePH6kCyV8"
    "fJXv4aYJIVL4uxxuErsSRUR8ljWRYdCgiKALcsGT1Xh1s+DCv3B57dYscJfneBm0vdHVYx"
    "dI94pjupgTUOdJ3Z5NHBthaKaTO8pkr0z179Gl77qs0JuTcw79xWUXGoywKqD6g+oPpk3U"
    "kU1Xodqg86uEAHFynMNAVfpuIaCh0+XoOWocMHdPiQwG+VtMNHXPLDcVnT5UDlDmu6/gi6"
    "fSj1Ug8rvMrD5ptLZF4ej2rFg0YV8aBRIR4EtdJNo1vYoMrX05Qa/BQ/hxM0CgV//vUGm/"
    "Epqw0lRqqyhX3rYuMpr3gs4rp7E2qx8jFXOuq/kVD9+Hq3qEMb9X3fpPqP7+G6T0gHdrse"
    "6mFaJMgGchM9Eg7djxLjBdUVS6rkWQzp25XmgkMH6vepkU13SUiXjkSfkzcWCibFA3vHoV"
    "KiYysiNQ3qbnQpkR7uda2k9IZzu/70TQS62+GOpJ7CqfaBxnJpzOlX5OxotxtkmqWoZiV7"
    "g+x4dHYag8r+qMLz9uPF1RWvUN3FvBys8mUgkejhKtB8jq5aeSqQsrA7/lYnUQWcnNZaPu"
    "zRUOPlfTT6iCq4jl26jsU53CC4vSPh8xCXdyU4sG/+zqQK4PcliG4Nq3zyeWpQu00LmefP"
    "8cazmeUpmwMccshnhnxmyGcG5wCaGqrV1DDe7QQxjmQA55rneaS+WQHqO/xUxsZlxXpQSl"
    "+1Nr3/911mWYoQffPx4t/fZZamq+tPH6LhKQ28u7qe5n1gF7keJ3+nIkgdS3QIt4Uf20I8"
    "P7trTe6KuZ2f2mGsw9FLSlRLzd2iYG/o5sYonLKoyNRYvabAyPej0Xh8Njoan55PTs7OJu"
    "dHMbDFW1UITy8/MJAzk7uIOlS194mQlKx0Bhr7yogoNF+Axr7SoirU2Lcxxjx7oIxai+zL"
    "yfJDt/B9R/zkgcsFRgMeY566PaxkzYOB9CeGI9tt7JuaqqEjRYcAdQ7UOVDnQJ3LtwMrqv"
    "U61LlruGItJWOBHpK641qk7riC1B0Lkrq/3F5/2ofUXRhzV/s/zTSc1vyEwf8sPWvu+q28"
    "PMN0Dct5yz7vfw9A+jKYqknfPL+be1PYA/Kkb2Tz+JgKvAF5uQ4JYPaTumGAW8jbDGGjn+"
    "nNXc/eC/OMcIfAI9s15sG6pyL2LrKpNR6VqnACHeXrEEcU1qLG1yLsUNPIN6L8Tu+iQZIy"
    "8e6Iu+OjI1WiJRDsa3u5gchIOzM3zG0UwzUrBLERCDhBwEkZRCHgBAEnaVGFgNMhA04cw6"
    "ABdFM1Fv2ENmsOSRXMq2hJUasdRZudKJJXPfyUWtUvKbGoKwWL8wmH/9jdrOIiOQgMQmAQ"
    "AoMQGITAYMOBQehn00U/m/RmKo50n+troHuQlLYBdA8qRfb1dA+iN5fE3vgNjZGpapQC4k"
    "AQB1LJLYM4EMSBVAQ16ZEqCm1BEgCGQFs7iEKgDQJt0qIKgTYItCkHba1AW5ml0MT0zXZx"
    "7yfIHBtJqpBmWIA4KK9NrA5pzlOD2gtpcg/h2TNMmRLCT3T+W8hkf0KgEgKVEKiEQCUEKq"
    "GCUbUKRjjAK8G3Vme0cUVrtHGxN9ra3ZhFfMv7/UXjodGfcKO/DaYGg/CKkZXqAewdLBo+"
    "ZpW1zzvw7l9Xyyzqk1qoTypQnxRR39rGBtnP5W50Oegc0d5h3kpWiYPpZy5S0AnV1/Kloc"
    "S2eunfo8R2r8LaQ5XTqpIEpEgOxcJGS2UbJzjEs+dC9koi0SHGG2R56iYDpbk6AaRzYnvB"
    "LRn1nEX69KQG0qcnpUizWyVIezbH66kBdSjXP6xHR3Wbyld2lS8YhS56IhbZsOOUBFt/ZO"
    "XAKGncKFlixLrZLHRqe68E0zi4spAhw0tBIrozJ7yOQ9WJyhnBHiHbRKbyA7Ydrltfnkyf"
    "SHTYl0aROQqpspAqqxCskCoLmZwKIOoi514M0ZQETFFIjYXUWMlRhdRYWVJj2crZALR34W"
    "P6CWpqe4Fs4yaBlbitT5jo+nvo/panwv6eOMi7T+pIedM7M2MHF9rWxg8G8RyNxV+wRpYa"
    "0sJHDbV7vHW1xzWdGPSpmuFqhqPZeGuiOV68HeT09OKHcbNxkwNI2JDox+VzciGJFpJoIY"
    "kWkmghibbhJFpF2FzpF1NIS+4uw1D+tNn27WJInOUCD4mzkDgrljgL2YFtBN8yTl3d4FtG"
    "CGyL3Sx8qkj2pTRR8iTFIK7NE2VmF58yPgxNdMmyeAYcdii4MawihYx4SLvntubeTeIY/m"
    "Pzhc/QnBnoGqBrgK4Buqat5swUUhG/IBrfaYtQXfFDE+Ptrf5WlRYBdyDvDmxtstly1qly"
    "yiaR6IEX2zVlg0xXdym0IgtFWqYHkHdAHAhWsUDximDxytIwsb5F9DMEUM4I9Q/rdhgwY8"
    "EDuZz8isZDnmRxq1tjY7UWoRITAYBT2TLjLbYWDBZFDV5s27zsyHLzLBbowxLbuXkGFT8Q"
    "dFAIV6hOgWIKacI4UEzRBqpCxRQQdexD1NEvt+AEHaMyjPKYY1Tv0XLIUbgJMwQdIegIQU"
    "cIOkLQERotK5b6ObMNvBQhYGKBHsRquuZf9mnWCS06W+2GFZnJPqYCC01erkvKlzjKNpaM"
    "YKOf6c1ZK7F9MM8Idwi84sklSuWbHx8dqZJjokikiA718ELVyXsoil2yiFHTcxfibxB/U3"
    "8WQ8e9VmA1FhiJYZqSAEChhSEEiZVBFILEECSWFlXouCdLxz1oD9feYdTMeGoC2MDpvQyf"
    "1k9wU4amVI337sLzKwbc/Ibw3rA6xyE1qr3zp6PyPO451JDPAPkMkM8A+QyQz/Dqiqg7y2"
    "ZoPkTg/ysAbjS+h+CO6hZGVtVFwpnc3eIL5wHywW7+PEDRIDj0WytlXyGk1VLjCmQLh7sz"
    "MhAqgFBBO4hCqABCBdKiKhQqCBbMBkBNU3tqLbF1cc3sLVJRru9svDDcOxtZDpq7ZcedFA"
    "YNK0888Yfrbm78zkNPri2szdfIWgUnlFha+JL/w9FmyGRz6K12t8bRHxoyH9Gzo+G/Pfo8"
    "zaV3HG/DRL+iDZP7WjwKpZ2PqFMWV17/VqyO84kLsbq4qbF6LVTy96PReHw2Ohqfnk9Ozs"
    "4m50fxPly8VbUhTy8/sD15mHZ8dhPOgeLFNJDI9MkO6kQRqWKb4J3U0ZIbQ63CvyAKathb"
    "DcDCtsjCki1DQ/AQgYxQDwrL2iaw/iIzMT82EWiJF1AvIJuguefJF3DoxR4t/9QKdkPc84"
    "dGot3AEgP9JhmhUYd+Owyh8dmh16/IasDhMeJ7wyr6wmOjdDMc1m6zHBFWIDHzgBqQkxro"
    "PkIiGR/atG2pkjukckTfJ2w5RdjlMf1EAqL6+Vnr7ykiMzYW6J0XdFzLCzqu8IKOi16QS+"
    "6x5eiGyEEfGRmYsoXDbwN4iCeS2JMVAlDzoMrHMyltDAD5UQ41kB9AfgD58erJj1/IbMDh"
    "PdjlYRXl8Vc4oEuyI90cuKRncNLpCfoFQ31dnfUC6uugvg60vmd9neeIdoFKSYDHAqkynZ"
    "KW0Diyg3ykLbLRRqjjciIhR79l9rG96be8tQm77egLYnHKGcprm/JyQNZxzjoOIHKJizjs"
    "/W5sY0EANw8uxYd9P4FlJJF40TIimYHR9XpR0qC2HPayBrWAukhX/CA4qtMh2H7AQm1VOa"
    "KwnHAiAT5K1P3YB9xIDIAtALvG8/stMXhEcPmikZUCs6/xBcXGFAzH5U32cm8nI9S/vhbN"
    "+zrUPbT3I72ykg2QXpIhry7HVaQ2l4ZlOOu91JwTBT3LrGeIG/elC4hkLwkE4pUKxB+uCY"
    "hk87axHiCHSW2gywtehXndnBSH9O1hVaqDkRvYZsoDZCpApgJkKkCmAmQqNJypsDWRuyT2"
    "RoQPSct0GP9lR0BuWXyoLTIqd8zxqAYtMh6VH3I8KpxxjByse7ZQQUtapofJDKOjuh1sK1"
    "vYFgpbWDqNaB/mtEzvyoda6RRMbUN9ixzHP5wVW/Mi2uUHOPJk+8CtVu0NbZzl+Ihna0Lu"
    "dQdT28sV1QJfGvQgrgfD0VmHvgfOkjMlxMTIKvFJ0nI54GdUsK11J7Kau4V+en19lYF+ep"
    "nH9vPH6fubN8e+HuggI/CZOfTZszWnE5ZhwCvVr8I8Lwqw14fdRI6r+wCKOwp5WeD95fEM"
    "ig6hr6g9ckOzYh1aUsbCxN1YU22ETG1v7no2Z/soTxfICEG2QPWevk/6EbGWBueskYoEjl"
    "gC1NG4OiAQ2ZdAZB8RhUjkK4hEqoqqpKHIW2or3njcMGR0a1gVgvRtTdtrP/74JR3tTOqr"
    "o1w1qKTuND4J7WCa3f/VqP+j77nFYGkL1faTYldC8YhYoHfBiOZDa4JVfFC8V96+TKxmD0"
    "r1SqGkJpdYwW8sANxB49xBSf1eeWSsrH4PgmE1gmESFYDI5rEpmktUJ4MMCkJeR2Co6ArX"
    "9W8LgsAe7mYPc3nWLyS6cundikFdl+8qzjSZaK8/gqyb9w/Y/wEF7itzf1hFgEX5Ozge2j"
    "ULFn0D+tefrNNgcYSN59h4AKLsAERZSjkFcMuJh6xUH7NOJ5M6yZCTSXkyJLuX8zAeuGf4"
    "lsMcCwC/s5PfUYOi7GwCN89OlvjHFbO3T/5xBwfOpXfBAszVzlFOFJxiWbylOk4xOEvgLI"
    "Gz9AJn6Se8NcnzpsRVSt0dVjlKi+w4qFVW6X0fVrg4UKv8CjdVqFXum9Y5xHOhVhnSfhpY"
    "STPZ7S72My2FotQ5MTli1ezzehOrVoPsULwfu0QhasnWGXV3DAhJv1Y9O95mg+xnkX0sJS"
    "LHHtarfCuo1YJaLXkRhVotqNWSFlVJa7V+82Z0R1zTX3iD58TOUptlY4ZVnOw2Hq3byfB2"
    "E1gS75V9WPowzOwxmc6cmn6eCVkrQOkCpQuULlC67VC6FBHq+5SEa8v5rpwYNKEs471Uza"
    "QabLG1ULjYEz+5rJmkKZh5mRPrX2pV84eXxpAJNlbNy/UP67Z6q0IpXZeldBD0HDTJn22Q"
    "fY+FEl0TiT5M39bPkk77zYKGfF62k5BLl+6buoZ70V8LyZu9FJ2XhdiazJqGUE7b+TcCuG"
    "aFAFcIkUGITOZgDoTI2kB1Z4iMs842gOq75Ek9BTa7vcgUfgyXilvsusEPLQQfcyOGVaHH"
    "6LV0UoN3BR4H1xbWQgFHo5h7rJxEI0sNWVr4wKE2e9bu8fMP2leyxRYyvg61r8aG/iQ9nD"
    "H0Wewa/U7U03G+vh3k9Nfep3DCo19y6xN9ZhDshHIWiH1C7BNinwffuBTVep3YJ1tsC+ou"
    "5yHD4T3sZtB8kPMBmZ7QSRqxAKQCV0cw9iln2etkMjiR7KWRI+DtgA2RzL2sw4YcKLvVJp"
    "stt8NAeGdYmcmajNnpRV7Ebtw/HI08WppL10BtSWwNacFzNDYvftToo5jnt8HIcjTqsWmh"
    "2rQlHaUFJw0V3cfmH1/Db/QnMjiO4DiC4wiOoxxbkqJar+M4+moq6Lvcc4zGg+tYw3Vk26"
    "WInxKN7wW44KKAiwIuiqQuygXdEjZ+aOddcMooLwaWH1PptqB4tJ4cXNpsAd6XOFYL7gG4"
    "B+AegHsgx3agqNbruAfYYphzFtEpISZGVkmRRiKVU/eMirWl4fhKt8bs9Pr6KqPN6WXeWv"
    "38cfr+5s2xr0Y6yAhMAE62YZi0LhJtSstAwKn5gBM7OFGop10iAepoXB0z5M7XItqIBUAZ"
    "jSsjLL3QxcuAi5IdlgMvbLR029JB28XA7PHUil4YrqNvsR0dWF3TwymRhuK+4l5s4SeX4b"
    "OHwZsThdIzaexbKEiCwhmVEAUeFgpnpEVV0t5yCW19RXbw2mzAsCapbZIWGO0cjf1lwKyG"
    "MA3GEWwVNzVWr4XZ/n40Go/PRkfj0/PJydnZ5PwoXlyLt6pW2enlB7bQZqyP3fy3y/F1qi"
    "1Cl8sHAPUpM+Ft4gcs1AUoFujQlzWsJenGlT2v4cmelzqy55zWYSvOHnu7QaZZbiJGQj1y"
    "WMejs9N49WJ/VK1Xtx8vrq44jWiw43DhLE81SYlAtske2SbU9tkInsGXSPRo+jbmMCaWT0"
    "08EwFwF3e7i1yeUNxVjO3hG6/Ppxgmc0tOz4ahX+nZhOqp5dmEU6OtXJ1huhnXktiF5J3M"
    "0HQXbcjqgaweGfjuHjs5kNXTN63XSvq3jdVKrHNlSqRD95ZuhR4yVY3Vzj3bZg1w9vJ1C8"
    "I9chqa8HnVT8zp1TmT0XRlXq6IUvJyL1KNZLO9ax3QDcsRO/sgkehDU4TWjzvIuDGC9lJB"
    "GBrVymMh8fJCXOMB6+JpDEXBRjbuHriekHQDSTeqIdr1iQn9o5wghQlSmKRFtdEUpsyqUc"
    "T+2sJ3hP6nJvK/BM9Qar2oC3uySNZA/UUhkyvDuh9wIiX+9WFVgMSMRjQdFiGePY8mnYts"
    "eg8qmiH2AbEPiH3Is38qqvU6sQ+666557E05SZZI9CJTKnew32RSgyajo8qP9WP3sl7T2s"
    "ZLEYSj8X3Et6WDE4FCAQpFEUTTBm9dTNMygCoH1cRzqI9qRgZQBYIKCCrZURU6nCpYNRsA"
    "tf9nU2U2mN3IBisnIFsD2cwmI1P29OUCb7aEoj9/vsFzYmdptdJBwyqS0EiG63YyvmnKcE"
    "6CprtwpNahicJYFXVd21igh77tuJZrO67wbMdFxxZOMmqTmZmRxbO+Rg6nh1Y5xhmhHiLd"
    "wsn1LuJZtxXLRCTQae2wvrUJo1adQSc4N59hXdZ5bGcZMb/r2GvPqWYvehHM8iLiaHwfkk"
    "e7LiBWK+QI0afd0ac6MUf8tDXo0/bQelayf4FmRZRcmjxcoBEPVCOMbWO+HvCKg4M7w8qq"
    "4GRMm32OwGft0md9wLZjiNWFpER6aO+34lmxl0oA4XB4D9E9rsUKHFewAsdFVmCe8Ka1K8"
    "sSke7r/Q6zUTZWVXbQzezb/wPZe+en"
)
